//! Saved segments: their definitions, checked against the account before they are kept, and
//! their stored members. The membership worker keeps the members current (see `membership`).

use sqlx::any::AnyRow;
use sqlx::Row;
use tracklane_core::ids::{AccountId, SegmentId};
use tracklane_core::invalid::Invalid;
use tracklane_core::message::CampaignStatus;
use tracklane_core::page::Page;
use tracklane_core::segment::saved::{Segment, SegmentDraft, SegmentPatch};
use tracklane_core::segment::{Condition, Definition, DefinitionError};
use tracklane_core::time::Timestamp;

use crate::fields::field_by_perstag;
use crate::listing::{all_of, owned_row, page_of, Listed};
use crate::sql::Statement;
use crate::writes::Written;
use crate::{Model, Store, StoreError};

/// The columns [`segment`] reads.
const SEGMENT_COLUMNS: &str = "id, name, definition, revision, computed_revision, computed_at, \
     created_at, updated_at, (SELECT CAST(COALESCE(SUM(delta), 0) AS BIGINT) \
     FROM segment_member_counts n WHERE n.segment_id = segments.id) AS member_count";

/// A stored segment row.
fn segment(row: &AnyRow) -> Result<Segment, sqlx::Error> {
    let definition: String = row.try_get("definition")?;
    let revision: i64 = row.try_get("revision")?;
    let computed: i64 = row.try_get("computed_revision")?;
    Ok(Segment {
        id: SegmentId(row.try_get("id")?),
        name: row.try_get("name")?,
        definition: Definition::parse(&definition)
            .map_err(|error| sqlx::Error::Decode(Box::new(error)))?,
        revision,
        member_count: row.try_get("member_count")?,
        ready: computed == revision,
        computed_at: row.try_get::<Option<i64>, _>("computed_at")?.map(Timestamp),
        created_at: Timestamp(row.try_get("created_at")?),
        updated_at: Timestamp(row.try_get("updated_at")?),
    })
}

impl Store {
    /// Saves a new segment; its members are computed in the background (it is not
    /// [`ready`](Segment::ready) until then).
    pub async fn create_segment(
        &self,
        account: AccountId,
        draft: SegmentDraft,
        now: Timestamp,
    ) -> Result<Segment, StoreError> {
        self.admit_definition(account, &draft.definition, now)
            .await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO segments (account_id, name, definition, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $4) RETURNING id",
        )
        .bind(account.0)
        .bind(draft.name)
        .bind(definition_text(&draft.definition))
        .bind(now.0)
        .fetch_one(&self.writer)
        .written(self)
        .await?;
        self.existing_segment(account, SegmentId(id)).await
    }

    /// The segment with this id, or [`StoreError::NotFound`].
    pub async fn existing_segment(
        &self,
        account: AccountId,
        id: SegmentId,
    ) -> Result<Segment, StoreError> {
        let key = (Model::Segment, account, id.0);
        owned_row(&self.reader, "segments", SEGMENT_COLUMNS, key, segment).await
    }

    /// One page of the account's segments, oldest first.
    pub async fn segments(
        &self,
        account: AccountId,
        page: Page,
    ) -> Result<Listed<Segment>, StoreError> {
        let mut filter = Statement::new(self.engine, " FROM segments WHERE account_id = ");
        filter.push_bind(account.0);
        page_of(
            &self.reader,
            SEGMENT_COLUMNS,
            &filter,
            "id ASC",
            page,
            segment,
        )
        .await
    }

    /// Every segment of the account, oldest first (for the membership worker).
    pub async fn account_segments(&self, account: AccountId) -> Result<Vec<Segment>, StoreError> {
        let mut select = Statement::new(
            self.engine,
            &format!("SELECT {SEGMENT_COLUMNS} FROM segments WHERE account_id = "),
        );
        select.push_bind(account.0).push(" ORDER BY id");
        all_of(&self.reader, &select, segment).await
    }

    /// Changes the name and the definition present in `patch`. A new definition is a new
    /// revision: its members are recomputed in the background and the previous ones are
    /// answered until then.
    pub async fn update_segment(
        &self,
        account: AccountId,
        id: SegmentId,
        patch: SegmentPatch,
        now: Timestamp,
    ) -> Result<Segment, StoreError> {
        self.existing_segment(account, id).await?;
        if let Some(definition) = &patch.definition {
            self.admit_definition(account, definition, now).await?;
        }
        let mut update = Statement::new(self.engine, "UPDATE segments SET updated_at = ");
        update.push_bind(now.0);
        if patch.definition.is_some() {
            update.push(", revision = revision + 1");
        }
        update.push_present([
            (", name = ", patch.name),
            (
                ", definition = ",
                patch.definition.as_ref().map(definition_text),
            ),
        ]);
        update
            .and(" WHERE account_id = ", account.0)
            .and(" AND id = ", id.0);
        update.query().execute(&self.writer).written(self).await?;
        self.existing_segment(account, id).await
    }

    /// Deletes a segment and its members; refused while a campaign that has not finished
    /// targets it. The transitions already recorded stay on the contacts' timelines.
    pub async fn delete_segment(
        &self,
        account: AccountId,
        id: SegmentId,
    ) -> Result<(), StoreError> {
        let targeting: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM campaigns WHERE account_id = $1 AND segment_id = $2 \
             AND status NOT IN ($3, $4) ORDER BY id LIMIT 1",
        )
        .bind(account.0)
        .bind(id.0)
        .bind(CampaignStatus::Stopped.code())
        .bind(CampaignStatus::Completed.code())
        .fetch_optional(&self.reader)
        .await?;
        if let Some(campaign) = targeting {
            return Err(Invalid::bad_value(
                "segment",
                format!("campaign {campaign} targets this segment and has not finished sending"),
            )
            .into());
        }
        self.delete_owned("segments", Model::Segment, account, id.0)
            .await
    }

    /// An unsaved definition's members at `now` (one page, and how many in all), refused as
    /// saving it would be.
    pub async fn preview_segment(
        &self,
        account: AccountId,
        definition: &Definition,
        now: Timestamp,
        page: Page,
    ) -> Result<Listed<tracklane_core::contact::Contact>, StoreError> {
        self.admit_definition(account, definition, now).await?;
        self.segment_members(account, definition, now, page).await
    }

    /// Refuses a definition that names a tag, list, form, campaign or custom field the account
    /// does not have, or that the set evaluator cannot answer yet.
    pub(crate) async fn admit_definition(
        &self,
        account: AccountId,
        definition: &Definition,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        match self.definition_refusal(account, definition).await? {
            Some(refusal) => Err(refused(refusal)),
            None => self.segment_filter(account, definition, now).map(|_| ()),
        }
    }

    /// Why the account cannot take `definition` (the first tag, list, form, campaign, scoring
    /// model or custom field it names that the account does not have), if so.
    pub(crate) async fn definition_refusal(
        &self,
        account: AccountId,
        definition: &Definition,
    ) -> Result<Option<DefinitionError>, StoreError> {
        let named = definition.references();
        let checks: [(&str, &str, Vec<i64>, NamesRow); 5] = [
            (
                "tags",
                "tag",
                named.tags.iter().map(|t| t.0).collect(),
                |n, id| matches!(n, Condition::HasTag(t) if t.0 == id),
            ),
            (
                "lists",
                "list",
                named.lists.iter().map(|l| l.0).collect(),
                |n, id| matches!(n, Condition::List(l) if l.id.0 == id),
            ),
            (
                "forms",
                "form",
                named.forms.iter().map(|f| f.0).collect(),
                |n, id| matches!(n, Condition::SubmittedForm(f) if f.form.map(|f| f.0) == Some(id)),
            ),
            (
                "campaigns",
                "campaign",
                named.campaigns.iter().map(|c| c.0).collect(),
                |n, id| email_campaign(n) == Some(id),
            ),
            (
                "score_models",
                "scoring model",
                named.score_models.iter().map(|m| m.0).collect(),
                |n, id| matches!(n, Condition::Score(s) if s.model.0 == id),
            ),
        ];
        for (table, what, ids, names) in checks {
            if let Some(missing) = self.first_missing(table, account, &ids).await? {
                let pointer = definition.pointer_of(|node| names(node, missing));
                return Ok(Some(refusal(
                    pointer,
                    format!("there is no {what} {missing}"),
                )));
            }
        }
        for perstag in named.fields.keys() {
            if field_by_perstag(&self.reader, account, perstag)
                .await?
                .is_none()
            {
                let pointer = definition
                    .pointer_of(|node| matches!(node, Condition::Field(f) if &f.name == perstag));
                return Ok(Some(refusal(
                    pointer,
                    format!("there is no field '{perstag}'"),
                )));
            }
        }
        Ok(None)
    }

    /// The first of `ids` that is not a row of the account's `table`.
    pub(crate) async fn first_missing(
        &self,
        table: &str,
        account: AccountId,
        ids: &[i64],
    ) -> Result<Option<i64>, StoreError> {
        if ids.is_empty() {
            return Ok(None);
        }
        let mut select = Statement::new(
            self.engine,
            &format!("SELECT id FROM {table} WHERE account_id = "),
        );
        select.push_bind(account.0).push(" AND id IN ");
        select.push_row(ids.iter().map(|id| (*id).into()));
        let found: Vec<i64> = select
            .query()
            .fetch_all(&self.reader)
            .await?
            .iter()
            .map(|row| row.try_get(0))
            .collect::<Result<_, _>>()?;
        Ok(ids.iter().copied().find(|id| !found.contains(id)))
    }
}

/// Whether a condition names the row with this id.
type NamesRow = fn(&Condition, i64) -> bool;

/// The campaign an email condition names.
fn email_campaign(node: &Condition) -> Option<i64> {
    match node {
        Condition::Sent(email)
        | Condition::Opened(email)
        | Condition::Clicked(email)
        | Condition::Unsubscribed(email)
        | Condition::Bounced(email) => email.campaign.map(|c| c.0),
        _ => None,
    }
}

/// A refusal of a definition at `pointer` (the whole definition when none).
fn refusal(pointer: Option<String>, why: String) -> DefinitionError {
    DefinitionError {
        pointer: pointer.unwrap_or_default(),
        message: why,
    }
}

/// A refused definition, written as core's refusals are.
pub(crate) fn refused(refusal: DefinitionError) -> StoreError {
    Invalid::bad_value("definition", refusal.to_string()).into()
}

/// The definition as stored.
pub(crate) fn definition_text(definition: &Definition) -> String {
    serde_json::to_string(definition).expect("a definition is plain JSON")
}
