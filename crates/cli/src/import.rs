//! `tracklane import contacts FILE.csv`: upserts contacts by email from a CSV file with a header
//! row. Columns map to the standard attributes (email, first name, last name, phone) and to
//! custom fields by title or personalization tag; any other column is reported and skipped.
//! Each row is written whole or not at all; refused rows are reported with their line number.
//! With `--list ID`, every imported contact is also subscribed to that list, in the same
//! savepoint as its row.

use std::collections::HashMap;
use std::fs::File;
use std::path::Path;

use anyhow::{bail, Context};
use indicatif::{ProgressBar, ProgressStyle};
use tracklane_core::contact::{ContactDraft, ContactInput, FieldValueInput};
use tracklane_core::field::Field;
use tracklane_core::ids::{AccountId, FieldId, ListId};
use tracklane_core::time::Timestamp;
use tracklane_store::{Store, StoreError};

use crate::every_page;

/// How many rows go to the store in one transaction.
const BATCH: usize = 500;

/// Where a CSV column goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Email,
    FirstName,
    LastName,
    Phone,
    Field(FieldId),
    Skipped,
}

/// A row the import did not write, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// The row's line in the file (the header is line 1).
    pub line: u64,
    /// Why.
    pub reason: String,
}

/// What an import did.
#[derive(Debug, Default)]
pub struct Report {
    /// Rows written.
    pub upserted: u64,
    /// Rows refused.
    pub rejected: Vec<Rejected>,
    /// Lines of rows whose contact stays off the list, because they unsubscribed from it or
    /// bounced: an import never subscribes them again.
    pub left_unsubscribed: Vec<u64>,
    /// Header names that map to nothing.
    pub skipped_columns: Vec<String>,
}

impl Report {
    /// Rows read: written or refused.
    pub fn rows(&self) -> u64 {
        self.upserted + self.rejected.len() as u64
    }
}

/// `rows` over `elapsed`, rounded.
fn rows_per_second(rows: u64, elapsed: std::time::Duration) -> u64 {
    let seconds = elapsed.as_secs_f64();
    if seconds > 0.0 {
        (rows as f64 / seconds).round() as u64
    } else {
        rows
    }
}

/// Where imported contacts go.
#[derive(Debug, Clone, Copy)]
pub struct Destination {
    /// The account.
    pub account: AccountId,
    /// The list each imported contact is subscribed to, if any.
    pub list: Option<ListId>,
}

/// Imports `path` into `to` and prints the report. On a terminal a progress bar shows the share
/// of the file read, the rows written, rows/s and the time left; elsewhere (a log, a pipe) only
/// the summary line is printed.
pub async fn contacts(store: &Store, to: Destination, path: &Path) -> anyhow::Result<()> {
    let size = std::fs::metadata(path)
        .with_context(|| format!("reading {}", path.display()))?
        .len();
    // indicatif draws on standard error only when it is a terminal.
    let progress = ProgressBar::new(size).with_style(
        ProgressStyle::with_template("{bar:40} {percent:>3}% {msg}, ETA {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let report = import(store, to, file, &progress).await?;
    progress.finish_and_clear();
    for column in &report.skipped_columns {
        eprintln!("column '{column}' skipped: it is no standard attribute and no custom field");
    }
    for rejected in &report.rejected {
        eprintln!("line {}: {}", rejected.line, rejected.reason);
    }
    for line in &report.left_unsubscribed {
        eprintln!("line {line}: left off the list: the contact unsubscribed from it or bounced");
    }
    let seconds = progress.elapsed().as_secs_f64();
    println!(
        "{} contacts imported, {} rows rejected, {} left unsubscribed, in {seconds:.1} s ({} rows/s)",
        report.upserted,
        report.rejected.len(),
        report.left_unsubscribed.len(),
        rows_per_second(report.rows(), progress.elapsed())
    );
    Ok(())
}

/// Imports the CSV `input` into `to`.
pub async fn import(
    store: &Store,
    to: Destination,
    input: impl std::io::Read,
    progress: &ProgressBar,
) -> anyhow::Result<Report> {
    if let Some(list) = to.list {
        match store.existing_list(to.account, list).await {
            Err(StoreError::NotFound { .. }) => {
                bail!("there is no list {list} in account {}", to.account)
            }
            found => found.context("reading the list")?,
        };
    }
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(input);
    let headers = reader.headers().context("reading the header row")?.clone();
    let fields = custom_fields(store, to.account).await?;
    let columns: Vec<Column> = headers.iter().map(|h| column_of(h, &fields)).collect();
    if !columns.contains(&Column::Email) {
        bail!("the header row has no email column");
    }
    let mut report = Report {
        skipped_columns: headers
            .iter()
            .zip(&columns)
            .filter(|(_, column)| **column == Column::Skipped)
            .map(|(header, _)| header.to_owned())
            .collect(),
        ..Report::default()
    };
    let mut batch: Vec<(u64, ContactDraft)> = Vec::with_capacity(BATCH);
    for record in reader.records() {
        match record {
            Err(error) => report.rejected.push(Rejected {
                line: error.position().map_or(0, |p| p.line()),
                reason: format!("unreadable row: {error}"),
            }),
            Ok(record) => {
                let line = record.position().map_or(0, |p| p.line());
                progress.set_position(record.position().map_or(0, |p| p.byte()));
                match row_input(&columns, &record).into_draft() {
                    Ok(draft) => batch.push((line, draft)),
                    Err(invalid) => report.rejected.push(Rejected {
                        line,
                        reason: format!("{}: {}", invalid.attribute, invalid.detail),
                    }),
                }
            }
        }
        if batch.len() >= BATCH {
            write_batch(store, to, &mut batch, &mut report).await?;
            progress.set_message(format!(
                "{} rows, {} rows/s",
                report.rows(),
                rows_per_second(report.rows(), progress.elapsed())
            ));
        }
    }
    write_batch(store, to, &mut batch, &mut report).await?;
    report.rejected.sort_by_key(|r| r.line);
    Ok(report)
}

async fn write_batch(
    store: &Store,
    to: Destination,
    batch: &mut Vec<(u64, ContactDraft)>,
    report: &mut Report,
) -> anyhow::Result<()> {
    if batch.is_empty() {
        return Ok(());
    }
    let drafts: Vec<ContactDraft> = batch.iter().map(|(_, draft)| draft.clone()).collect();
    let outcomes = store
        .sync_contacts(to.account, &drafts, to.list, Timestamp::now())
        .await
        .context("writing contacts")?;
    for ((line, _), outcome) in batch.iter().zip(outcomes) {
        match outcome {
            Ok(synced) => {
                report.upserted += 1;
                if synced.opted_out.is_some() {
                    report.left_unsubscribed.push(*line);
                }
            }
            Err(refused) => report.rejected.push(Rejected {
                line: *line,
                reason: refused.to_string(),
            }),
        }
    }
    batch.clear();
    Ok(())
}

/// The account's custom fields by normalised title and personalization tag.
async fn custom_fields(
    store: &Store,
    account: AccountId,
) -> anyhow::Result<HashMap<String, FieldId>> {
    let mut fields = HashMap::new();
    for field in all_fields(store, account).await? {
        fields.insert(normalised(&field.title), field.id);
        fields.insert(normalised(&field.perstag), field.id);
    }
    Ok(fields)
}

/// Every custom field of the account, in its order.
pub async fn all_fields(store: &Store, account: AccountId) -> anyhow::Result<Vec<Field>> {
    every_page(|page| store.fields(account, None, page)).await
}

/// Lower-case letters and digits only: `First Name`, `first_name` and `FIRSTNAME` are one.
fn normalised(header: &str) -> String {
    header
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

fn column_of(header: &str, fields: &HashMap<String, FieldId>) -> Column {
    match normalised(header).as_str() {
        "email" | "emailaddress" => Column::Email,
        "firstname" | "first" => Column::FirstName,
        "lastname" | "last" => Column::LastName,
        "phone" | "phonenumber" => Column::Phone,
        other => fields
            .get(other)
            .map_or(Column::Skipped, |id| Column::Field(*id)),
    }
}

fn row_input(columns: &[Column], record: &csv::StringRecord) -> ContactInput {
    let mut input = ContactInput::default();
    for (column, value) in columns.iter().zip(record.iter()) {
        let value = value.to_owned();
        match column {
            Column::Email => input.email = Some(value),
            Column::FirstName => input.first_name = Some(value),
            Column::LastName => input.last_name = Some(value),
            Column::Phone => input.phone = Some(value),
            Column::Field(field) => input.field_values.push(FieldValueInput {
                field: *field,
                value,
            }),
            Column::Skipped => {}
        }
    }
    input
}

#[cfg(test)]
mod tests {
    use tracklane_core::list::{ListInput, ListStatus};
    use tracklane_core::page::Page;
    use tracklane_store::contacts::ContactQuery;

    use super::*;

    #[test]
    fn headers_map_loosely() {
        let fields = HashMap::from([("favouritecolour".to_owned(), FieldId(3))]);
        assert_eq!(column_of("E-mail", &fields), Column::Email);
        assert_eq!(column_of("First Name", &fields), Column::FirstName);
        assert_eq!(column_of("last_name", &fields), Column::LastName);
        assert_eq!(
            column_of("Favourite colour", &fields),
            Column::Field(FieldId(3))
        );
        assert_eq!(column_of("shoe size", &fields), Column::Skipped);
    }

    /// A migrated SQLite store in `dir` and its first account.
    async fn store_in(dir: &Path) -> (Store, AccountId) {
        let url = format!("sqlite://{}/t.db?mode=rwc", dir.display());
        let store = Store::connect(&url, Default::default()).await.unwrap();
        store.migrate().await.unwrap();
        let account = store.bootstrap(Timestamp::now()).await.unwrap().unwrap().id;
        (store, account)
    }

    #[tokio::test]
    async fn imports_valid_rows_and_reports_the_others_by_line() {
        let dir = tempfile::tempdir().unwrap();
        let (store, account) = store_in(dir.path()).await;
        let to = Destination {
            account,
            list: None,
        };
        let csv = "email,first name,shoe size\n\
                   ada@example.com,Ada,40\n\
                   not-an-email,Bob,41\n\
                   \"broken,row\n";
        let report = import(&store, to, csv.as_bytes(), &ProgressBar::hidden())
            .await
            .unwrap();
        assert_eq!(report.upserted, 1);
        assert_eq!(report.skipped_columns, vec!["shoe size".to_owned()]);
        assert_eq!(report.rejected.len(), 2);
        assert_eq!(report.rejected[0].line, 3);
        assert!(report.rejected[0].reason.starts_with("email"));
        let again = import(
            &store,
            to,
            "email\nADA@example.com\n".as_bytes(),
            &ProgressBar::hidden(),
        )
        .await
        .unwrap();
        assert_eq!(again.upserted, 1);
        let page = store
            .contacts(account, &Default::default(), Page::default())
            .await
            .unwrap();
        assert_eq!(
            page.total, 1,
            "a second import of the same email updates, never duplicates"
        );
    }

    #[tokio::test]
    async fn a_list_subscribes_every_imported_contact_and_a_refused_row_to_none() {
        let dir = tempfile::tempdir().unwrap();
        let (store, account) = store_in(dir.path()).await;
        let draft = ListInput {
            name: Some("Newsletter".into()),
            ..ListInput::default()
        }
        .into_draft()
        .unwrap();
        let list = store
            .create_list(account, draft, Timestamp::now())
            .await
            .unwrap();
        let to = Destination {
            account,
            list: Some(list.id),
        };
        let csv = "email\nada@example.com\nnot-an-email\nbob@example.com\n";
        let report = import(&store, to, csv.as_bytes(), &ProgressBar::hidden())
            .await
            .unwrap();
        assert_eq!(report.upserted, 2);
        assert_eq!(report.rejected.len(), 1);
        let query = ContactQuery {
            list: Some(list.id),
            list_status: Some(ListStatus::Active.code()),
            ..ContactQuery::default()
        };
        let subscribed = store
            .contacts(account, &query, Page::default())
            .await
            .unwrap();
        let emails: Vec<&str> = subscribed.items.iter().map(|c| c.email.as_str()).collect();
        assert_eq!(emails, ["ada@example.com", "bob@example.com"]);

        let (ada, bob) = (subscribed.items[0].id, subscribed.items[1].id);
        for (contact, status) in [(ada, ListStatus::Unsubscribed), (bob, ListStatus::Bounced)] {
            store
                .set_list_status(account, contact, list.id, status, 0, None, Timestamp::now())
                .await
                .unwrap();
        }
        let again = import(&store, to, csv.as_bytes(), &ProgressBar::hidden())
            .await
            .unwrap();
        assert_eq!(again.upserted, 2);
        assert_eq!(again.left_unsubscribed, [2, 4], "both rows are reported");
        let subscribed = store
            .contacts(account, &query, Page::default())
            .await
            .unwrap();
        assert_eq!(
            subscribed.total, 0,
            "an import never subscribes again who unsubscribed or bounced"
        );

        let missing = Destination {
            account,
            list: Some(ListId(list.id.0 + 1)),
        };
        let error = import(&store, missing, csv.as_bytes(), &ProgressBar::hidden())
            .await
            .unwrap_err();
        assert!(error.to_string().contains("there is no list"), "{error}");
    }
}
