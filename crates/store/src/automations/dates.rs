//! Date triggers (`dateField`): a row per trigger of an active automation, due at its next
//! firing (migration 0034), and the firings, each in one transaction that enters the contacts
//! whose date field holds the matched day and moves the row a day on (see core's
//! `automation::dates` for the days matched).

use sqlx::{AnyConnection, Row};
use tracklane_core::automation::dates::{
    anniversaries, day_span, first_firing, matched_day, not_too_late, DAY,
};
use tracklane_core::automation::trigger::Trigger;
use tracklane_core::automation::Definition;
use tracklane_core::ids::{AccountId, AutomationId, ContactId};
use tracklane_core::invalid::Invalid;
use tracklane_core::time::Timestamp;

use super::runs::enter_in;
use crate::fields::field_by_perstag;
use crate::sql::{Statement, Value};
use crate::{Engine, Store, StoreError};

/// The most due firings one call makes.
const FIRINGS: i64 = 100;

/// Writes the rows of the automation's date triggers (none when it is inactive), each due at
/// its first firing from `now`; replaces the rows of its previous definition.
pub(crate) async fn schedule_dates(
    tx: &mut AnyConnection,
    (account, id): (AccountId, AutomationId),
    definition: &Definition,
    active: bool,
    now: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM automation_dates WHERE automation_id = $1")
        .bind(id.0)
        .execute(&mut *tx)
        .await?;
    if !active {
        return Ok(());
    }
    for (index, trigger) in definition.triggers().iter().enumerate() {
        let Trigger::DateField {
            field,
            offset_days,
            time,
            every_year,
        } = trigger
        else {
            continue;
        };
        let field_id = field_by_perstag(&mut *tx, account, field)
            .await?
            .ok_or_else(|| Invalid::bad_value("field", format!("there is no field '{field}'")))?;
        sqlx::query(
            "INSERT INTO automation_dates (automation_id, trigger_index, account_id, field_id, \
             offset_days, every_year, next_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id.0)
        .bind(i64::try_from(index).unwrap_or(i64::MAX))
        .bind(account.0)
        .bind(field_id.0)
        .bind(*offset_days)
        .bind(i64::from(*every_year))
        .bind(first_firing(*time, now).0)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// A due firing, as read before it is made.
struct Firing {
    automation: AutomationId,
    index: i64,
    due: Timestamp,
}

impl Store {
    /// Makes the date triggers' firings due at `now` (at most [`FIRINGS`]), each in its own
    /// transaction; answers how many contacts they entered.
    pub async fn fire_dates(&self, now: Timestamp) -> Result<usize, StoreError> {
        let rows = sqlx::query(
            "SELECT automation_id, trigger_index, next_at FROM automation_dates \
             WHERE next_at <= $1 ORDER BY next_at LIMIT $2",
        )
        .bind(now.0)
        .bind(FIRINGS)
        .fetch_all(&self.reader)
        .await?;
        let mut entered = 0;
        for row in rows {
            let firing = Firing {
                automation: AutomationId(row.try_get("automation_id")?),
                index: row.try_get("trigger_index")?,
                due: Timestamp(row.try_get("next_at")?),
            };
            entered += self
                .write(async |tx| fire_in(tx, self.engine, &firing, now).await)
                .await?;
        }
        Ok(entered)
    }

    /// When the next date trigger fires, if any.
    pub async fn next_date_due(&self) -> Result<Option<Timestamp>, StoreError> {
        let due: Option<i64> = sqlx::query_scalar("SELECT MIN(next_at) FROM automation_dates")
            .fetch_one(&self.reader)
            .await?;
        Ok(due.map(Timestamp))
    }
}

/// Makes one firing, unless another transaction made it (or the automation changed) since it
/// was read: enters the contacts of the matched day and moves the row a day on.
async fn fire_in(
    tx: &mut AnyConnection,
    engine: Engine,
    firing: &Firing,
    now: Timestamp,
) -> Result<usize, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT account_id, field_id, offset_days, every_year FROM automation_dates \
         WHERE automation_id = $1 AND trigger_index = $2 AND next_at = $3{}",
        engine.lock_for_update()
    ))
    .bind(firing.automation.0)
    .bind(firing.index)
    .bind(firing.due.0)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        return Ok(0);
    };
    let account = AccountId(row.try_get("account_id")?);
    // A firing missed for longer than a week is skipped: its day is long gone.
    let at = not_too_late(firing.due, now);
    let mut entered = 0;
    if let Some(day) = matched_day(at, row.try_get("offset_days")?) {
        let mut select = Statement::new(
            engine,
            "SELECT contact_id FROM field_values WHERE field_id = ",
        );
        select.push_bind(row.try_get::<i64, _>("field_id")?);
        if row.try_get::<i64, _>("every_year")? == 1 {
            select
                .push(&format!(" AND {} IN ", engine.month_day("instant")))
                .push_row(anniversaries(day).into_iter().map(Value::from));
        } else {
            let (start, end) = day_span(day);
            select
                .and(" AND instant >= ", start.0)
                .and(" AND instant < ", end.0);
        }
        let contacts = select.query().fetch_all(&mut *tx).await?;
        let cause = format!("date:{}:{day}", firing.index);
        for contact in contacts {
            let contact = ContactId(contact.try_get(0)?);
            let run = enter_in(tx, engine, account, firing.automation, contact, &cause, now);
            let run = run.await?;
            entered += usize::from(run.is_ok());
        }
    }
    sqlx::query(
        "UPDATE automation_dates SET next_at = $1 WHERE automation_id = $2 AND trigger_index = $3",
    )
    .bind(at.0.saturating_add(DAY))
    .bind(firing.automation.0)
    .bind(firing.index)
    .execute(&mut *tx)
    .await?;
    Ok(entered)
}
