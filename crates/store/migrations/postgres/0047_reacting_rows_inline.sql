-- The statement-level trigger of new timeline rows tests whether anything reacts to each row
-- with the conditions themselves instead of through row_reacts() and row_is_read(): SQL
-- functions whose body holds a subquery are not inlined, so each row ran three function
-- calls, each with its own executor. Inline, the planner makes each test a semi-join of the
-- statement's rows, once per statement. /event on PostgreSQL without any segment, rule or
-- automation had fallen from 7,683 to 4,493 events/s with row_readers (0037), measured by
-- bisection; the row-level trigger (an anonymous visitor's rows adopted) keeps the functions.
CREATE OR REPLACE FUNCTION events_added_check_segments() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO segment_checks (contact_id, account_id, reasons, due_at)
    SELECT a.contact_id, min(a.account_id), bit_or(COALESCE(r.reasons, 1023)), 0
    FROM added a LEFT JOIN timeline_reasons r ON r.kind = a.kind
    WHERE a.contact_id IS NOT NULL AND a.kind NOT IN ('score', 'automation')
        AND (EXISTS (SELECT 1 FROM segments s WHERE s.account_id = a.account_id)
            OR EXISTS (SELECT 1 FROM automations w
                WHERE w.account_id = a.account_id AND w.watches = 1)
            OR EXISTS (SELECT 1 FROM row_readers rr WHERE rr.account_id = a.account_id
                AND (rr.kind IS NULL OR rr.kind = a.kind)
                AND (rr.name IS NULL OR rr.name = a.name)))
    GROUP BY a.contact_id
    ORDER BY a.contact_id
    ON CONFLICT (contact_id) DO UPDATE
    SET reasons = segment_checks.reasons | EXCLUDED.reasons,
        version = segment_checks.version + 1, due_at = 0;
    INSERT INTO new_rows (contact_id, account_id, since_at)
    SELECT a.contact_id, min(a.account_id), min(a.occurred_at)
    FROM added a
    WHERE a.contact_id IS NOT NULL AND a.kind NOT IN ('score', 'automation')
        AND EXISTS (SELECT 1 FROM row_readers rr WHERE rr.account_id = a.account_id
            AND (rr.kind IS NULL OR rr.kind = a.kind)
            AND (rr.name IS NULL OR rr.name = a.name))
    GROUP BY a.contact_id;
    RETURN NULL;
END;
$$;
