//! Tracking settings per account, whitelisted site domains and event names, and the
//! installation's contact-token key.

use sqlx::Row;
use tracklane_core::ids::{AccountId, SiteDomainId};
use tracklane_core::time::Timestamp;

use crate::writes::Written;
use crate::{Model, Store, StoreError};

/// An account's tracking switches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TrackingSettings {
    /// Whether page visits are recorded.
    pub site_tracking: bool,
    /// Whether custom events are recorded.
    pub event_tracking: bool,
    /// Whether browsers that send Do-Not-Track or Global Privacy Control are left alone.
    pub honor_do_not_track: bool,
    /// Whether identifying an unknown email (`setEmail`, `identify`) creates the contact.
    pub create_contacts: bool,
}

/// A change of some tracking switches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TrackingSettingsPatch {
    /// See [`TrackingSettings::site_tracking`].
    pub site_tracking: Option<bool>,
    /// See [`TrackingSettings::event_tracking`].
    pub event_tracking: Option<bool>,
    /// See [`TrackingSettings::honor_do_not_track`].
    pub honor_do_not_track: Option<bool>,
    /// See [`TrackingSettings::create_contacts`].
    pub create_contacts: Option<bool>,
}

/// A whitelisted site domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteDomain {
    /// Its id.
    pub id: SiteDomainId,
    /// The domain (subdomains are tracked too).
    pub name: String,
    /// The last page visit recorded on it.
    pub last_visit_at: Option<Timestamp>,
    /// When it was whitelisted.
    pub created_at: Timestamp,
}

fn flag(row: &sqlx::any::AnyRow, column: &str) -> Result<bool, sqlx::Error> {
    Ok(row.try_get::<i64, _>(column)? != 0)
}

impl Store {
    /// The account's tracking switches (all off until changed).
    pub async fn tracking_settings(
        &self,
        account: AccountId,
    ) -> Result<TrackingSettings, StoreError> {
        let row = sqlx::query(
            "SELECT site_tracking, event_tracking, honor_do_not_track, create_contacts \
             FROM tracking_settings WHERE account_id = $1",
        )
        .bind(account.0)
        .fetch_optional(&self.reader)
        .await?;
        let Some(row) = row else {
            return Ok(TrackingSettings::default());
        };
        Ok(TrackingSettings {
            site_tracking: flag(&row, "site_tracking")?,
            event_tracking: flag(&row, "event_tracking")?,
            honor_do_not_track: flag(&row, "honor_do_not_track")?,
            create_contacts: flag(&row, "create_contacts")?,
        })
    }

    /// Changes the switches present in `patch`.
    pub async fn update_tracking_settings(
        &self,
        account: AccountId,
        patch: TrackingSettingsPatch,
        now: Timestamp,
    ) -> Result<TrackingSettings, StoreError> {
        let current = self.tracking_settings(account).await?;
        let next = TrackingSettings {
            site_tracking: patch.site_tracking.unwrap_or(current.site_tracking),
            event_tracking: patch.event_tracking.unwrap_or(current.event_tracking),
            honor_do_not_track: patch
                .honor_do_not_track
                .unwrap_or(current.honor_do_not_track),
            create_contacts: patch.create_contacts.unwrap_or(current.create_contacts),
        };
        sqlx::query(
            "INSERT INTO tracking_settings (account_id, site_tracking, event_tracking, \
             honor_do_not_track, create_contacts, updated_at) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (account_id) DO UPDATE SET site_tracking = excluded.site_tracking, \
             event_tracking = excluded.event_tracking, \
             honor_do_not_track = excluded.honor_do_not_track, \
             create_contacts = excluded.create_contacts, updated_at = excluded.updated_at",
        )
        .bind(account.0)
        .bind(i64::from(next.site_tracking))
        .bind(i64::from(next.event_tracking))
        .bind(i64::from(next.honor_do_not_track))
        .bind(i64::from(next.create_contacts))
        .bind(now.0)
        .execute(&self.writer)
        .written(self)
        .await?;
        Ok(next)
    }

    /// The account's whitelisted domains, by name.
    pub async fn site_domains(&self, account: AccountId) -> Result<Vec<SiteDomain>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, name, last_visit_at, created_at FROM site_domains \
             WHERE account_id = $1 ORDER BY name",
        )
        .bind(account.0)
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(SiteDomain {
                    id: SiteDomainId(row.try_get("id")?),
                    name: row.try_get("name")?,
                    last_visit_at: row
                        .try_get::<Option<i64>, _>("last_visit_at")?
                        .map(Timestamp),
                    created_at: Timestamp(row.try_get("created_at")?),
                })
            })
            .collect()
    }

    /// Whitelists a domain (a parsed, bare domain); whitelisting it again changes nothing.
    /// Returns whether it is new.
    pub async fn add_site_domain(
        &self,
        account: AccountId,
        name: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        self.insert_name("site_domains", account, name, now).await
    }

    /// Removes a domain from the whitelist.
    pub async fn remove_site_domain(
        &self,
        account: AccountId,
        name: &str,
    ) -> Result<(), StoreError> {
        self.delete_name("site_domains", Model::SiteDomain, account, name)
            .await
    }

    /// Removes a domain from the whitelist by its id.
    pub async fn remove_site_domain_by_id(
        &self,
        account: AccountId,
        id: SiteDomainId,
    ) -> Result<(), StoreError> {
        self.delete_owned("site_domains", Model::SiteDomain, account, id.0)
            .await
    }

    /// The account's whitelisted event names, by name.
    pub async fn event_names(&self, account: AccountId) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query("SELECT name FROM event_names WHERE account_id = $1 ORDER BY name")
            .bind(account.0)
            .fetch_all(&self.reader)
            .await?;
        Ok(rows
            .iter()
            .map(|row| row.try_get("name"))
            .collect::<Result<_, _>>()?)
    }

    /// Whitelists an event name; returns whether it is new.
    pub async fn add_event_name(
        &self,
        account: AccountId,
        name: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        self.insert_name("event_names", account, name, now).await
    }

    /// Removes an event name from the whitelist.
    pub async fn remove_event_name(
        &self,
        account: AccountId,
        name: &str,
    ) -> Result<(), StoreError> {
        self.delete_name("event_names", Model::EventName, account, name)
            .await
    }

    async fn insert_name(
        &self,
        table: &str,
        account: AccountId,
        name: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let inserted = sqlx::query(&format!(
            "INSERT INTO {table} (account_id, name, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (account_id, name) DO NOTHING"
        ))
        .bind(account.0)
        .bind(name)
        .bind(now.0)
        .execute(&self.writer)
        .written(self)
        .await?
        .rows_affected();
        Ok(inserted > 0)
    }

    async fn delete_name(
        &self,
        table: &str,
        model: Model,
        account: AccountId,
        name: &str,
    ) -> Result<(), StoreError> {
        let deleted = sqlx::query(&format!(
            "DELETE FROM {table} WHERE account_id = $1 AND name = $2"
        ))
        .bind(account.0)
        .bind(name)
        .execute(&self.writer)
        .written(self)
        .await?
        .rows_affected();
        if deleted == 0 {
            return Err(StoreError::NotFound { model, id: 0 });
        }
        Ok(())
    }
}
