//! Listing contacts: AC's filters (email, search, ids, dates, list, tag, segment, phone) and
//! orders (including by score in a model), one page at a time.

use tracklane_core::contact::Contact;
use tracklane_core::ids::{AccountId, ListId, ScoreModelId, SegmentId, TagId};
use tracklane_core::page::Page;
use tracklane_core::time::Timestamp;

use crate::listing::{page_of, Listed};
use crate::rows::{self, CONTACT_COLUMNS};
use crate::sql::{contains_pattern, prefix_pattern, Direction, Statement};
use crate::{Store, StoreError};

/// What a contact list may be sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContactOrder {
    /// The id.
    Id,
    /// The creation time.
    Created,
    /// The email.
    Email,
    /// The first name.
    FirstName,
    /// The last name.
    LastName,
    /// First then last name.
    Name,
    /// The score in this model (AC's `orders[score]` with `sortId`); no score is 0.
    Score(ScoreModelId),
}

impl ContactOrder {
    /// Parses AC's `orders[...]` keys, but `score` (whose model is another parameter).
    pub fn parse(key: &str) -> Option<Self> {
        match key {
            "id" => Some(Self::Id),
            "cdate" => Some(Self::Created),
            "email" => Some(Self::Email),
            "first_name" => Some(Self::FirstName),
            "last_name" => Some(Self::LastName),
            "name" => Some(Self::Name),
            _ => None,
        }
    }

    /// The SQL of its sort keys (a model's id is an integer of ours, written as a literal).
    fn keys(self) -> Vec<String> {
        let columns: &[&str] = match self {
            Self::Id => &["id"],
            Self::Created => &["created_at"],
            Self::Email => &["email"],
            Self::FirstName => &["first_name"],
            Self::LastName => &["last_name"],
            Self::Name => &["first_name", "last_name"],
            Self::Score(model) => {
                return vec![format!(
                    "COALESCE((SELECT s.total FROM contact_scores s \
                     WHERE s.contact_id = contacts.id AND s.model_id = {}), 0)",
                    model.0
                )];
            }
        };
        columns.iter().map(|&column| column.to_owned()).collect()
    }
}

/// Which contacts to list. Every present filter must hold.
#[derive(Debug, Clone, Default)]
pub struct ContactQuery {
    /// Exactly this email.
    pub email: Option<String>,
    /// Email contains this.
    pub email_like: Option<String>,
    /// Email, names or phone contain this.
    pub search: Option<String>,
    /// One of these ids.
    pub ids: Vec<i64>,
    /// Id above this.
    pub id_greater: Option<i64>,
    /// Id below this.
    pub id_less: Option<i64>,
    /// Not this id.
    pub exclude: Option<i64>,
    /// On this list.
    pub list: Option<ListId>,
    /// With this list status (on `list`, or on any list).
    pub list_status: Option<i64>,
    /// Carrying this tag.
    pub tag: Option<TagId>,
    /// A stored member of this saved segment (an unknown one is [`StoreError::NotFound`]).
    pub segment: Option<SegmentId>,
    /// Phone starts with this.
    pub phone: Option<String>,
    /// Created before this time.
    pub created_before: Option<Timestamp>,
    /// Created after this time.
    pub created_after: Option<Timestamp>,
    /// Updated before this time.
    pub updated_before: Option<Timestamp>,
    /// Updated after this time.
    pub updated_after: Option<Timestamp>,
    /// The sort, first key first; by id when empty.
    pub order: Vec<(ContactOrder, Direction)>,
}

impl Store {
    /// One page of the contacts matching `query`.
    pub async fn contacts(
        &self,
        account: AccountId,
        query: &ContactQuery,
        page: Page,
    ) -> Result<Listed<Contact>, StoreError> {
        if let Some(segment) = query.segment {
            self.existing_segment(account, segment).await?;
        }
        for (order, _) in &query.order {
            if let ContactOrder::Score(model) = *order {
                self.existing_score_model(account, model).await?;
            }
        }
        let mut filter = Statement::new(self.engine, " FROM contacts");
        self.filter_contacts(&mut filter, account, query);
        let mut keys: Vec<String> = query
            .order
            .iter()
            .flat_map(|(order, direction)| {
                order
                    .keys()
                    .into_iter()
                    .map(move |key| format!("{key}{}", direction.sql()))
            })
            .collect();
        keys.push("id ASC".to_owned());
        page_of(
            &self.reader,
            CONTACT_COLUMNS,
            &filter,
            &keys.join(", "),
            page,
            rows::contact,
        )
        .await
    }

    fn filter_contacts(&self, statement: &mut Statement, account: AccountId, query: &ContactQuery) {
        statement.and(" WHERE account_id = ", account.0);
        if let Some(email) = &query.email {
            statement.and(" AND email = ", email.trim().to_lowercase());
        }
        if let Some(needle) = &query.email_like {
            statement
                .and(
                    " AND email LIKE ",
                    contains_pattern(&needle.trim().to_lowercase()),
                )
                .push(" ESCAPE '\\'");
        }
        if let Some(needle) = &query.search {
            let pattern = contains_pattern(needle.trim());
            let like = self.engine.ilike();
            statement.push(" AND (");
            for (i, column) in [
                "email",
                "first_name",
                "last_name",
                "phone",
                "first_name || ' ' || last_name",
            ]
            .iter()
            .enumerate()
            {
                if i > 0 {
                    statement.push(" OR ");
                }
                statement
                    .push(column)
                    .push(like)
                    .push_bind(pattern.as_str())
                    .push(" ESCAPE '\\'");
            }
            statement.push(")");
        }
        if !query.ids.is_empty() {
            statement.push(" AND id IN (");
            for (i, id) in query.ids.iter().enumerate() {
                if i > 0 {
                    statement.push(", ");
                }
                statement.push_bind(*id);
            }
            statement.push(")");
        }
        let bounds = [
            (" AND id > ", query.id_greater),
            (" AND id < ", query.id_less),
            (" AND id <> ", query.exclude),
            (" AND created_at < ", query.created_before.map(|t| t.0)),
            (" AND created_at > ", query.created_after.map(|t| t.0)),
            (" AND updated_at < ", query.updated_before.map(|t| t.0)),
            (" AND updated_at > ", query.updated_after.map(|t| t.0)),
        ];
        statement.push_present(bounds);
        if query.list.is_some() || query.list_status.is_some() {
            statement.push(
                " AND EXISTS (SELECT 1 FROM contact_lists cl WHERE cl.contact_id = contacts.id",
            );
            if let Some(list) = query.list {
                statement.and(" AND cl.list_id = ", list.0);
            }
            if let Some(status) = query.list_status.filter(|s| *s >= 0) {
                statement.and(" AND cl.status = ", status);
            }
            statement.push(")");
        }
        if let Some(tag) = query.tag {
            statement.and(
                " AND EXISTS (SELECT 1 FROM contact_tags ct WHERE ct.contact_id = contacts.id AND ct.tag_id = ",
                tag.0,
            );
            statement.push(")");
        }
        if let Some(segment) = query.segment {
            statement.and(
                " AND EXISTS (SELECT 1 FROM segment_members sm WHERE sm.contact_id = contacts.id AND sm.segment_id = ",
                segment.0,
            );
            statement.push(")");
        }
        if let Some(phone) = &query.phone {
            statement
                .and(" AND phone LIKE ", prefix_pattern(phone.trim()))
                .push(" ESCAPE '\\'");
        }
    }
}
