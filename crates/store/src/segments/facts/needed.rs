//! The timeline rows a round's conditions need: for each behavioral condition, its most recent
//! matching rows inside its window, as many as its count (one more for "exactly" and "at
//! most"), and the rows dated after now that will enter a moving window. A condition's answer
//! depends on how many of its rows are inside its window only up to that number, and rows leave
//! a moving window oldest first, so its answer now and at every later instant (and so its next
//! change) is the same as over the whole timeline. Rows that another condition brings in are
//! real rows too: each condition counts between its own needed rows and the whole timeline,
//! where its answer is the same. A contact with thousands of rows is read in a few dozen.

use tracklane_core::ids::{AccountId, ContactId};
use tracklane_core::segment::condition::Window;
use tracklane_core::segment::Definition;
use tracklane_core::time::Timestamp;

use super::select_timeline;
use crate::segments::compile::{named, push_counters, push_window, Behavior, Rows};
use crate::sql::{Statement, Value};
use crate::Engine;

/// The most conditions' rows one statement reads (SQLite allows 500 selects in a compound).
const SELECTS_MAX: usize = 200;

/// The rows that one or more timeline conditions with the same filter need.
struct Needed<'a> {
    /// The filter (with a fixed window's bounds), which conditions are merged by.
    filter: Statement,
    /// The first condition with the filter.
    behavior: Behavior<'a>,
    /// How many of each contact's most recent rows.
    limit: i64,
    /// The earliest instant of a moving window; `None`: every row.
    since: Option<i64>,
    /// Whether a moving window needs the rows dated after now (and the recent rows stop at
    /// now).
    future: bool,
}

/// The statements of the rows that the timeline conditions of `definitions` need, one select
/// (in a `UNION ALL`) per distinct filter: the contacts' most recent rows it keeps (a fixed
/// window's, or the widest moving window's, up to the largest count), and the rows dated after
/// now that a moving window needs. The most recent rows of a wider window (or of every row)
/// include those of a narrower one that ends now.
pub(super) fn rows(
    engine: Engine,
    account: AccountId,
    contacts: &[ContactId],
    definitions: &[&Definition],
    now: Timestamp,
) -> Vec<Statement> {
    let mut needed: Vec<Needed<'_>> = Vec::new();
    for leaf in definitions
        .iter()
        .flat_map(|definition| definition.leaves())
    {
        let Some(behavior) = Behavior::of(leaf).filter(|b| b.rows != Rows::Sent) else {
            continue;
        };
        let mut filter = Statement::new(engine, "");
        let time = behavior.push_rows(&mut filter, account);
        let (since, future) = match behavior.window {
            Some(fixed @ Window::Between(_)) => {
                push_window(&mut filter, &named(time), Some(fixed), now);
                (None, false)
            }
            Some(moving) => (
                moving.span_micros().map(|span| now.0.saturating_sub(span)),
                true,
            ),
            None => (None, false),
        };
        let limit = behavior.count.rows_needed();
        match needed.iter_mut().find(|known| known.filter == filter) {
            Some(known) => {
                known.limit = known.limit.max(limit);
                known.since = known.since.zip(since).map(|(a, b)| a.min(b));
                known.future |= future;
            }
            None => needed.push(Needed {
                filter,
                behavior,
                limit,
                since,
                future,
            }),
        }
    }
    needed
        .chunks(SELECTS_MAX)
        .map(|some| {
            let mut select = Statement::new(engine, "");
            let round = match engine {
                // The round's contacts are one text parameter, so that the statement's text is
                // the same from round to round and PostgreSQL can keep its plan.
                Engine::Postgres => {
                    let ids: Vec<String> = contacts.iter().map(|c| c.0.to_string()).collect();
                    select
                        .and(
                            "WITH round (id) AS (SELECT unnest(string_to_array(",
                            ids.join(","),
                        )
                        .push(", ',')::bigint[])) ");
                    Round::Named
                }
                Engine::Sqlite => Round::Listed(contacts),
            };
            for (i, rows) in some.iter().enumerate() {
                if i > 0 {
                    select.push(" UNION ALL ");
                }
                push_needed(&mut select, account, round, rows, now);
            }
            select
        })
        .collect()
}

/// How the selects of a round's rows name its contacts.
#[derive(Clone, Copy)]
enum Round<'a> {
    /// The statement's `round (id)` (PostgreSQL).
    Named,
    /// Each select lists them (SQLite).
    Listed(&'a [ContactId]),
}

impl Round<'_> {
    /// Appends `FROM` the contacts `c`.
    fn push_from(self, select: &mut Statement) {
        select.push(match self {
            Self::Named => " FROM round c",
            Self::Listed(_) => " FROM contacts c",
        });
    }

    /// Appends ` AND {column} IN` the contacts.
    fn push_in(self, select: &mut Statement, column: &str) {
        select.push(&format!(" AND {column} IN "));
        match self {
            Self::Named => {
                select.push("(SELECT id FROM round)");
            }
            Self::Listed(contacts) => {
                select.push_row(ids(contacts));
            }
        }
    }
}

/// The contacts' ids as bound values.
pub(super) fn ids(contacts: &[ContactId]) -> impl Iterator<Item = Value> + '_ {
    contacts.iter().map(|contact| Value::from(contact.0))
}

/// Appends the selects of the rows of [`Needed`].
fn push_needed(
    select: &mut Statement,
    account: AccountId,
    round: Round<'_>,
    needed: &Needed<'_>,
    now: Timestamp,
) {
    let engine = select.engine();
    let behavior = &needed.behavior;
    select.push(select_timeline(engine, "r").sql());
    round.push_from(select);
    // Each contact's most recent rows, its index read backwards until the limit.
    select.push(match engine {
        Engine::Sqlite => " JOIN events r ON r.id IN (SELECT e.id",
        Engine::Postgres => " CROSS JOIN LATERAL (SELECT e.*",
    });
    let time = behavior.push_rows(select, account);
    select.push(" AND e.contact_id = c.id AND e.by_machine = 0");
    // PostgreSQL's statistics lag behind the newest rows, so that a recent window looks
    // nearly empty and the index by time looks best: walking the account's whole window for
    // each contact. Its window is tested on each row of the contact's, as an expression.
    let bounded = match engine {
        Engine::Sqlite => time.to_owned(),
        Engine::Postgres => format!("({time} + 0)"),
    };
    if let Some(fixed @ Window::Between(_)) = behavior.window {
        push_window(select, &named(&bounded), Some(fixed), now);
    }
    if let Some(since) = needed.since {
        select.and(&format!(" AND {bounded} >= "), since);
    }
    if needed.future {
        select.and(&format!(" AND {bounded} <= "), now.0);
    }
    select
        .push(&format!(" ORDER BY {time} DESC LIMIT "))
        .push_bind(needed.limit)
        .push(match engine {
            Engine::Sqlite => ")",
            Engine::Postgres => ") r",
        });
    select.push(" WHERE 1 = 1");
    if let Round::Listed(contacts) = round {
        select.push(" AND c.id IN ").push_row(ids(contacts));
    }
    if let Some(counters) = &behavior.counters {
        // Only contacts whose counters hold such a row, at or after the window's start: the
        // others have none to read, and a search for them would walk the contact's whole
        // timeline of that kind (a page never visited, a window with nothing in it).
        select.push(" AND EXISTS (");
        push_counters(select, account, counters);
        select.push(" AND a.contact_id = c.id");
        let from = match behavior.window {
            Some(Window::Between(between)) => Some(between.from.0),
            _ => needed.since,
        };
        if let Some(from) = from {
            select.and(" AND a.t1 >= ", from);
        }
        select.push(")");
    }
    if needed.future {
        // Rows dated after now enter the window later.
        let future = select_timeline(engine, "e");
        select.push(" UNION ALL ").push(future.sql());
        behavior.push_rows(select, account);
        select.push(" AND e.by_machine = 0");
        round.push_in(select, "e.contact_id");
        select.and(&format!(" AND {time} > "), now.0);
    }
}
