//! `tracklane export contacts` (CSV: every contact with its custom fields, tags and lists) and
//! `tracklane export timeline` (JSON lines: every event, or one contact's, oldest first). Both
//! read the account a batch at a time in id order and write as they go, so any size exports in
//! constant memory.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use serde_json::json;
use tracklane_core::event::TrackedEvent;
use tracklane_core::ids::{AccountId, ContactId, EventId, FieldId};
use tracklane_core::list::ListStatus;
use tracklane_store::exports::ExportedContact;
use tracklane_store::{Store, StoreError};

use crate::accounts::chosen_account;
use crate::import::all_fields;
use crate::DatabaseArgs;

/// Rows read from the database at once.
const BATCH: i64 = 1_000;

/// `tracklane export ...`.
#[derive(Subcommand)]
pub enum ExportCommand {
    /// Every contact as CSV: id, email, firstName, lastName, phone, each custom field by its
    /// title, tags, lists (name=status) and created. `import contacts` reads it back.
    Contacts(Exported),
    /// The timeline as JSON lines, oldest first: every event of the account, or one contact's.
    Timeline {
        /// Only this contact's events.
        #[arg(long)]
        contact: Option<i64>,
        #[command(flatten)]
        exported: Exported,
    },
}

/// What every export names: the account, where to write, the database.
#[derive(Args)]
pub struct Exported {
    /// The account [default: the first account].
    #[arg(long)]
    account: Option<i64>,
    /// The file to write [default: standard output].
    #[arg(long, short)]
    output: Option<PathBuf>,
    #[command(flatten)]
    config: DatabaseArgs,
}

impl Exported {
    /// The store and the account.
    async fn open(&self) -> anyhow::Result<(Store, AccountId)> {
        let store = self.config.clone().open().await?;
        let account = chosen_account(&store, self.account).await?;
        Ok((store, account))
    }

    /// Standard output, or the file `output` (created or truncated).
    fn writer(&self) -> anyhow::Result<Box<dyn Write>> {
        Ok(match &self.output {
            Some(path) => Box::new(BufWriter::new(
                File::create(path).with_context(|| format!("creating {}", path.display()))?,
            )),
            None => Box::new(BufWriter::new(std::io::stdout().lock())),
        })
    }
}

/// Runs an export command.
pub async fn export(command: ExportCommand) -> anyhow::Result<()> {
    match command {
        ExportCommand::Contacts(exported) => {
            let (store, account) = exported.open().await?;
            let written = contacts(&store, account, exported.writer()?).await?;
            eprintln!("{written} contacts exported");
        }
        ExportCommand::Timeline { contact, exported } => {
            let (store, account) = exported.open().await?;
            let contact = contact.map(ContactId);
            if let Some(contact) = contact {
                if let Err(StoreError::NotFound { .. }) =
                    store.existing_contact(account, contact).await
                {
                    bail!("there is no contact {contact} in account {account}");
                }
            }
            let written = timeline(&store, account, contact, exported.writer()?).await?;
            eprintln!("{written} events exported");
        }
    }
    Ok(())
}

/// Writes the account's contacts as CSV to `out`; answers how many.
async fn contacts(store: &Store, account: AccountId, out: Box<dyn Write>) -> anyhow::Result<u64> {
    let fields: Vec<(FieldId, String)> = all_fields(store, account)
        .await?
        .into_iter()
        .map(|field| (field.id, field.title))
        .collect();
    let mut csv = csv::Writer::from_writer(out);
    let mut header = vec!["id", "email", "firstName", "lastName", "phone"];
    header.extend(fields.iter().map(|(_, title)| title.as_str()));
    header.extend(["tags", "lists", "created"]);
    csv.write_record(&header)?;
    let mut after = ContactId(0);
    let mut written = 0;
    loop {
        let batch = store.export_contacts(account, after, BATCH).await?;
        let Some(last) = batch.last() else { break };
        after = last.contact.id;
        for exported in &batch {
            csv.write_record(contact_row(exported, &fields))?;
            written += 1;
        }
    }
    csv.flush().context("writing the export")?;
    Ok(written)
}

/// One contact's CSV row, its custom fields in the order of `fields`.
fn contact_row(exported: &ExportedContact, fields: &[(FieldId, String)]) -> Vec<String> {
    let contact = &exported.contact;
    let mut row = vec![
        contact.id.to_string(),
        contact.email.clone(),
        contact.first_name.clone(),
        contact.last_name.clone(),
        contact.phone.clone(),
    ];
    row.extend(
        fields
            .iter()
            .map(|(id, _)| exported.fields.get(id).cloned().unwrap_or_default()),
    );
    row.push(exported.tags.join("; "));
    let lists: Vec<String> = exported
        .lists
        .iter()
        .map(|(name, status)| format!("{name}={}", status_name(*status)))
        .collect();
    row.push(lists.join("; "));
    row.push(contact.created_at.to_api());
    row
}

fn status_name(status: ListStatus) -> &'static str {
    match status {
        ListStatus::Unconfirmed => "unconfirmed",
        ListStatus::Active => "active",
        ListStatus::Unsubscribed => "unsubscribed",
        ListStatus::Bounced => "bounced",
    }
}

/// Writes the account's events (or `contact`'s) as JSON lines to `out`; answers how many.
async fn timeline(
    store: &Store,
    account: AccountId,
    contact: Option<ContactId>,
    mut out: Box<dyn Write>,
) -> anyhow::Result<u64> {
    let mut after = EventId(0);
    let mut written = 0;
    loop {
        let batch = store.export_events(account, contact, after, BATCH).await?;
        let Some(last) = batch.last() else { break };
        after = last.id;
        for event in &batch {
            serde_json::to_writer(&mut out, &event_json(event))?;
            out.write_all(b"\n")?;
            written += 1;
        }
    }
    out.flush().context("writing the export")?;
    Ok(written)
}

/// One event as a JSON line.
fn event_json(event: &TrackedEvent) -> serde_json::Value {
    json!({
        "id": event.id.to_string(),
        "at": event.occurred_at.to_api(),
        "kind": event.kind.as_str(),
        "name": event.name,
        "contact": event.contact.map(|c| c.to_string()),
        "visitor": event.visitor,
        "url": event.url,
        "referrer": event.referrer,
        "title": event.title,
        "device": event.device.map(|d| d.as_str()),
        "data": event.data,
        "startsVisit": event.starts_visit,
    })
}
