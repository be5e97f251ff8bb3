//! What the plugin keeps beside the library's queue, in the same SQLite database: for each
//! queued file the name the user knows it by, the picked source (a `content://` URI on
//! Android), the bucket, and the id the UI gave an upload started with `start_upload`. And the
//! one-time move of the old `history.json` into the database.
//!
//! The library owns the `queue_files` table; this module reads it only through the library,
//! except for the migration, which inserts finished and unfinished uploads of the old history
//! as rows of that table (so done files are the history, wherever they came from).

use crate::error::{Error, Result};
use crate::models::{HistoryEntry, UploadState};
use rusqlite::{params, Connection, OptionalExtension};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS app_uploads (
    file_id  INTEGER PRIMARY KEY,
    ui_id    TEXT UNIQUE,
    name     TEXT NOT NULL,
    source   TEXT NOT NULL,
    bucket   TEXT NOT NULL
);
";

/// One file's details beside its queue row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The id the UI gave the upload (`start_upload`), if any.
    pub ui_id: Option<String>,
    /// The file's name as the user knows it.
    pub name: String,
    /// The file as picked (a path, or a `content://` URI).
    pub source: String,
    /// The bucket it goes to.
    pub bucket: String,
}

/// The plugin's table in the queue's database.
pub struct Records {
    conn: Mutex<Connection>,
}

fn db_error(e: rusqlite::Error) -> Error {
    Error::Io(format!("the upload database: {e}"))
}

impl Records {
    /// Opens the table in the database at `path` (the queue has created the file).
    pub fn open(path: &Path) -> Result<Self> {
        let conn = Connection::open(path).map_err(db_error)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(db_error)?;
        conn.execute_batch(SCHEMA).map_err(db_error)?;
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    fn with<T>(&self, f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>) -> Result<T> {
        let mut c = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut c).map_err(db_error)
    }

    /// Records a queued file's details; `ui_id` moves to this file if another had it.
    pub fn record(&self, file_id: i64, ui_id: Option<&str>, r: &Record) -> Result<()> {
        self.with(|c| {
            let tx = c.transaction()?;
            if let Some(ui) = ui_id {
                tx.execute(
                    "UPDATE app_uploads SET ui_id = NULL WHERE ui_id = ?1 AND file_id <> ?2",
                    params![ui, file_id],
                )?;
            }
            tx.execute(
                "INSERT INTO app_uploads (file_id, ui_id, name, source, bucket)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (file_id) DO UPDATE SET ui_id = COALESCE(?2, ui_id),
                   name = ?3, source = ?4, bucket = ?5",
                params![file_id, ui_id, r.name, r.source, r.bucket],
            )?;
            tx.commit()
        })
    }

    /// The file an upload id names: an id the UI gave (`start_upload`), or the queue's own id.
    pub fn resolve(&self, id: &str) -> Result<Option<i64>> {
        let by_ui: Option<i64> = self.with(|c| {
            c.query_row(
                "SELECT file_id FROM app_uploads WHERE ui_id = ?1",
                [id],
                |r| r.get(0),
            )
            .optional()
        })?;
        Ok(by_ui.or_else(|| id.parse().ok()))
    }

    /// Every file's details, by file id.
    pub fn all(&self) -> Result<HashMap<i64, Record>> {
        self.with(|c| {
            let mut st =
                c.prepare("SELECT file_id, ui_id, name, source, bucket FROM app_uploads")?;
            let rows = st.query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    Record {
                        ui_id: r.get(1)?,
                        name: r.get(2)?,
                        source: r.get(3)?,
                        bucket: r.get(4)?,
                    },
                ))
            })?;
            rows.collect()
        })
    }

    /// One file's details.
    pub fn get(&self, file_id: i64) -> Result<Option<Record>> {
        self.with(|c| {
            c.query_row(
                "SELECT ui_id, name, source, bucket FROM app_uploads WHERE file_id = ?1",
                [file_id],
                |r| {
                    Ok(Record {
                        ui_id: r.get(0)?,
                        name: r.get(1)?,
                        source: r.get(2)?,
                        bucket: r.get(3)?,
                    })
                },
            )
            .optional()
        })
    }

    /// Moves the entries of the old `history.json` into the database once: each becomes a
    /// queue row in its state (an upload interrupted by the app stopping comes back paused, to
    /// resume from its checkpoint), with its id, name and bucket here; then the JSON file is
    /// renamed `history.json.migrated`. Safe to repeat after a crash (rows are matched, not
    /// added twice). How many entries were moved.
    pub fn migrate_history(&self, json: &Path) -> Result<usize> {
        if !json.exists() {
            return Ok(0);
        }
        let entries: Vec<HistoryEntry> = crate::store::load(json);
        let n = self.with(|c| {
            let tx = c.transaction()?;
            for e in &entries {
                migrate_one(&tx, e)?;
            }
            tx.commit()?;
            Ok(entries.len())
        })?;
        let done = json.with_extension("json.migrated");
        std::fs::rename(json, &done)
            .map_err(|e| Error::Io(format!("cannot rename {}: {e}", json.display())))?;
        Ok(n)
    }
}

fn migrate_one(tx: &rusqlite::Transaction<'_>, e: &HistoryEntry) -> rusqlite::Result<()> {
    let state = match e.state {
        UploadState::Done => "done",
        UploadState::Cancelled => "cancelled",
        UploadState::Failed => "failed",
        _ => "paused",
    };
    let mtime_ns = std::fs::metadata(&e.local_path)
        .ok()
        .and_then(|m| m.modified().ok())
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos() as i64);
    tx.execute(
        "INSERT INTO queue_files (source, key, size, mtime_ns, state, reason, bytes_done, etag,
           crc64, added_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
         ON CONFLICT (source, key, size, mtime_ns) DO NOTHING",
        params![
            e.local_path,
            e.key,
            e.size as i64,
            mtime_ns,
            state,
            e.error,
            e.bytes_done as i64,
            e.etag,
            e.crc64,
            e.started_at * 1000,
            e.updated_at * 1000,
        ],
    )?;
    let file_id: i64 = tx.query_row(
        "SELECT id FROM queue_files WHERE source = ?1 AND key = ?2 AND size = ?3 AND mtime_ns = ?4",
        params![e.local_path, e.key, e.size as i64, mtime_ns],
        |r| r.get(0),
    )?;
    tx.execute(
        "INSERT OR IGNORE INTO app_uploads (file_id, ui_id, name, source, bucket)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![file_id, e.id, e.name, e.source, e.bucket],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(name: &str) -> Record {
        Record {
            ui_id: None,
            name: name.into(),
            source: format!("content://media/{name}"),
            bucket: "b".into(),
        }
    }

    #[test]
    fn an_upload_is_found_by_the_ui_id_or_the_queue_id() {
        let dir = tempfile::tempdir().unwrap();
        let r = Records::open(&dir.path().join("q.sqlite")).unwrap();
        r.record(1, Some("u1"), &record("a.jpg")).unwrap();
        r.record(2, None, &record("b.jpg")).unwrap();
        assert_eq!(r.resolve("u1").unwrap(), Some(1));
        assert_eq!(r.resolve("2").unwrap(), Some(2));
        assert_eq!(r.resolve("nope").unwrap(), None);
        // The UI's id moves to the file it names now; details are kept per file.
        r.record(2, Some("u1"), &record("b.jpg")).unwrap();
        assert_eq!(r.resolve("u1").unwrap(), Some(2));
        assert_eq!(r.get(1).unwrap().unwrap().ui_id, None);
        let b = r.get(2).unwrap().unwrap();
        assert_eq!((b.name.as_str(), b.ui_id.as_deref()), ("b.jpg", Some("u1")));
        // Recording again without an id keeps the one it has.
        r.record(2, None, &record("b.jpg")).unwrap();
        assert_eq!(r.resolve("u1").unwrap(), Some(2));
        assert_eq!(r.all().unwrap().len(), 2);
    }

    #[test]
    fn no_history_file_is_nothing_to_move() {
        let dir = tempfile::tempdir().unwrap();
        let r = Records::open(&dir.path().join("q.sqlite")).unwrap();
        assert_eq!(
            r.migrate_history(&dir.path().join("history.json")).unwrap(),
            0
        );
    }
}
