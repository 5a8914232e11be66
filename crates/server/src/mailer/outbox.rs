//! The outbox folder after a stop: which sends' messages are whole in it, and which were only
//! being written in `.partial` (whose files nobody reads, and which are removed).
//!
//! A message is written into `outbox/.partial` and moved into `outbox` once whole, so a message
//! in `outbox` was delivered and one in `.partial` never was. Each names its send in its
//! `Message-ID` (see [`super::message_id`]).

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use super::message_id;

/// The outbox's subfolder where messages are written before they are moved in whole.
pub(super) const PARTIAL_DIR: &str = ".partial";

/// The most header bytes read from a file to find its `Message-ID`.
const HEADER_LIMIT: u64 = 64 * 1024;

/// What a stop left in the outbox, for the sends asked about.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutboxSweep {
    /// Sends whose message is whole in the outbox: delivered.
    pub whole: HashSet<i64>,
    /// Sends whose message was only in `.partial` (now removed): never delivered.
    pub partial: HashSet<i64>,
    /// How many files were removed from `.partial` (those messages and any stray file).
    pub removed: usize,
}

/// Finds which of the `wanted` sends have their message whole in `dir` or half-written in
/// `dir/.partial`, and removes every file of `dir/.partial` last written before `left_before`
/// (what a stopped process left: a message this process is writing meanwhile, such as a test
/// send at start, is kept). Reads only the headers of the files, and none at all when nothing
/// is wanted. Blocking: run it off the async runtime.
pub fn sweep(
    dir: &Path,
    wanted: &HashSet<i64>,
    left_before: std::time::SystemTime,
) -> io::Result<OutboxSweep> {
    let mut found = OutboxSweep::default();
    if !wanted.is_empty() {
        for path in files(dir)? {
            if path.extension().is_some_and(|extension| extension == "eml") {
                if let Some(send) = send_in(&path).filter(|send| wanted.contains(send)) {
                    found.whole.insert(send);
                }
            }
            if found.whole.len() == wanted.len() {
                break;
            }
        }
    }
    for path in files(&dir.join(PARTIAL_DIR))? {
        let written = fs::metadata(&path).and_then(|meta| meta.modified());
        if written.is_ok_and(|written| written >= left_before) {
            continue;
        }
        if let Some(send) = send_in(&path).filter(|send| wanted.contains(send)) {
            if !found.whole.contains(&send) {
                found.partial.insert(send);
            }
        }
        match fs::remove_file(&path) {
            Ok(()) => found.removed += 1,
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(error) => return Err(error),
        }
    }
    Ok(found)
}

/// The plain files of `dir` (none when it does not exist).
fn files(dir: &Path) -> io::Result<Vec<std::path::PathBuf>> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(error),
    };
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            files.push(entry.path());
        }
    }
    Ok(files)
}

/// The send the message in `path` names in its `Message-ID`, if it is readable and names one.
fn send_in(path: &Path) -> Option<i64> {
    let file = File::open(path).ok()?;
    message_id_header(BufReader::new(file).take(HEADER_LIMIT))
        .and_then(|id| message_id::send_of(&id))
}

/// The value of the `Message-ID` header among the headers `reader` starts with (unfolding a
/// value continued on the next lines).
fn message_id_header(reader: impl BufRead) -> Option<String> {
    let mut value: Option<String> = None;
    for line in reader.split(b'\n') {
        let line = line.ok()?;
        let line = String::from_utf8_lossy(&line);
        let line = line.trim_end_matches('\r');
        if line.is_empty() {
            break;
        }
        let continued = line.starts_with([' ', '\t']);
        match (&mut value, continued) {
            (Some(value), true) => value.push_str(line.trim()),
            (Some(_), false) => break,
            (None, false) => {
                if let Some((name, rest)) = line.split_once(':') {
                    if name.trim().eq_ignore_ascii_case("message-id") {
                        value = Some(rest.trim().to_owned());
                    }
                }
            }
            (None, true) => {}
        }
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_id_is_read_from_the_headers_only() {
        let headers = "From: a@b.c\r\nmessage-id:\r\n <tl.7.ab@b.c>\r\nSubject: x\r\n\r\n\
                       Message-ID: <tl.8.ab@b.c>\r\n";
        assert_eq!(
            message_id_header(headers.as_bytes()).as_deref(),
            Some("<tl.7.ab@b.c>")
        );
        assert_eq!(
            message_id_header("Subject: x\r\n\r\nMessage-ID: <a@b>".as_bytes()),
            None
        );
    }

    #[test]
    fn a_sweep_finds_whole_and_partial_messages_and_empties_partial() {
        let dir = tempfile::tempdir().unwrap();
        let partial = dir.path().join(PARTIAL_DIR);
        fs::create_dir_all(&partial).unwrap();
        let mail =
            |send: i64| format!("To: x@y.z\r\nMessage-ID: <tl.{send}.f00d@y.z>\r\n\r\nHi\r\n");
        fs::write(dir.path().join("a.eml"), mail(1)).unwrap();
        fs::write(dir.path().join("old.eml"), mail(99)).unwrap();
        fs::write(partial.join("b.eml"), mail(2)).unwrap();
        fs::write(partial.join("stray.eml"), "Message-").unwrap();
        fs::write(partial.join("other.eml"), mail(98)).unwrap();

        let later = std::time::SystemTime::now() + std::time::Duration::from_secs(60);
        let found = sweep(dir.path(), &HashSet::from([1, 2, 3]), later).unwrap();
        assert_eq!(found.whole, HashSet::from([1]));
        assert_eq!(found.partial, HashSet::from([2]));
        assert_eq!(found.removed, 3, "every file of .partial goes");
        assert_eq!(fs::read_dir(&partial).unwrap().count(), 0);
        assert!(dir.path().join("a.eml").exists() && dir.path().join("old.eml").exists());

        fs::write(partial.join("c.eml"), mail(3)).unwrap();
        let nothing_wanted = sweep(dir.path(), &HashSet::new(), later).unwrap();
        assert_eq!(nothing_wanted.removed, 1);
        assert!(nothing_wanted.whole.is_empty() && nothing_wanted.partial.is_empty());

        fs::write(partial.join("d.eml"), mail(4)).unwrap();
        let earlier = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
        let this_process = sweep(dir.path(), &HashSet::from([4]), earlier).unwrap();
        assert_eq!(
            this_process.removed, 0,
            "a file written since the start is kept"
        );
        assert!(partial.join("d.eml").exists());
    }
}
