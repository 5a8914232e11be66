//! Email settings per account: whether campaign links are tracked, which scanner rules judge
//! clicks and opens, and the unsubscribe footer of messages without their own link. An account
//! that never changed them has the defaults (links tracked, every rule applied, the default
//! footer).

use sqlx::Row;
use tracklane_core::email_body::DEFAULT_FOOTER;
use tracklane_core::ids::AccountId;
use tracklane_core::scanner::ScannerRules;
use tracklane_core::time::Timestamp;

use crate::writes::Written;
use crate::{Store, StoreError};

/// An account's email settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailSettings {
    /// Whether the links of the account's campaigns are tracked (a campaign can still switch
    /// its own off).
    pub track_links: bool,
    /// The rules that tell a machine's clicks and opens from a person's.
    pub scanner: ScannerRules,
    /// The account's own unsubscribe footer (checked by
    /// [`tracklane_core::email_body::check_footer`]); `None` for the default.
    pub unsubscribe_footer: Option<String>,
}

impl EmailSettings {
    /// The footer messages without `%UNSUBSCRIBELINK%` get.
    pub fn footer(&self) -> &str {
        self.unsubscribe_footer.as_deref().unwrap_or(DEFAULT_FOOTER)
    }
}

impl Default for EmailSettings {
    fn default() -> Self {
        Self {
            track_links: true,
            scanner: ScannerRules::default(),
            unsubscribe_footer: None,
        }
    }
}

impl Store {
    /// The account's email settings.
    pub async fn email_settings(&self, account: AccountId) -> Result<EmailSettings, StoreError> {
        let row = sqlx::query(
            "SELECT track_links, scanner_rules, unsubscribe_footer FROM email_settings \
             WHERE account_id = $1",
        )
        .bind(account.0)
        .fetch_optional(&self.reader)
        .await?;
        let Some(row) = row else {
            return Ok(EmailSettings::default());
        };
        let rules: String = row.try_get("scanner_rules")?;
        Ok(EmailSettings {
            track_links: row.try_get::<i64, _>("track_links")? != 0,
            // Written by `set_email_settings` only, so always readable; a hand-edited row that
            // is not falls back to the defaults rather than stopping every click.
            scanner: serde_json::from_str(&rules).unwrap_or_default(),
            unsubscribe_footer: row.try_get("unsubscribe_footer")?,
        })
    }

    /// Replaces the account's email settings.
    pub async fn set_email_settings(
        &self,
        account: AccountId,
        settings: &EmailSettings,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let rules = serde_json::to_string(&settings.scanner)
            .map_err(|error| sqlx::Error::Encode(Box::new(error)))?;
        sqlx::query(
            "INSERT INTO email_settings (account_id, track_links, scanner_rules, updated_at, \
             unsubscribe_footer) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (account_id) DO UPDATE \
             SET track_links = excluded.track_links, scanner_rules = excluded.scanner_rules, \
             updated_at = excluded.updated_at, unsubscribe_footer = excluded.unsubscribe_footer",
        )
        .bind(account.0)
        .bind(i64::from(settings.track_links))
        .bind(rules)
        .bind(now.0)
        .bind(settings.unsubscribe_footer.as_deref())
        .execute(&self.writer)
        .written(self)
        .await?;
        Ok(())
    }
}
