//! The queue's state in SQLite: one row per file, every state change one statement in WAL mode,
//! so a process killed at any moment (`kill -9`) leaves the database at the last committed
//! change, never half of one.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::{FileId, FileState, QueuedFile};
use crate::error::{Error, ErrorKind, Result};

const OP: &str = "UploadQueue";

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS queue_files (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    source      TEXT    NOT NULL,
    key         TEXT    NOT NULL,
    size        INTEGER NOT NULL,
    mtime_ns    INTEGER NOT NULL,
    state       TEXT    NOT NULL,
    reason      TEXT,
    bytes_done  INTEGER NOT NULL DEFAULT 0,
    etag        TEXT,
    crc64       TEXT,
    note        TEXT,
    added_at    INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    UNIQUE (source, key, size, mtime_ns)
);
CREATE INDEX IF NOT EXISTS queue_files_state ON queue_files (state, id);
";

const COLUMNS: &str =
    "id, source, key, size, mtime_ns, state, reason, bytes_done, etag, crc64, note, added_at, updated_at";

/// The SQLite database of one queue.
pub(crate) struct Store {
    conn: Mutex<Connection>,
}

fn db_error(what: &str, e: rusqlite::Error) -> Error {
    Error::new(
        ErrorKind::Checkpoint,
        OP,
        format!("the upload queue's database {what}: {e}"),
    )
}

fn now_ms() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp_nanos() as i64 / 1_000_000
}

fn from_row(row: &Row<'_>) -> rusqlite::Result<QueuedFile> {
    let state: String = row.get(5)?;
    Ok(QueuedFile {
        id: FileId(row.get(0)?),
        source: PathBuf::from(row.get::<_, String>(1)?),
        key: row.get(2)?,
        size: row.get::<_, i64>(3)? as u64,
        mtime_ns: row.get(4)?,
        state: FileState::parse(&state).unwrap_or(FileState::Queued),
        reason: row.get(6)?,
        bytes_done: row.get::<_, i64>(7)? as u64,
        etag: row.get(8)?,
        crc64: row
            .get::<_, Option<String>>(9)?
            .and_then(|s| s.parse().ok()),
        note: row.get(10)?,
        added_at_ms: row.get(11)?,
        updated_at_ms: row.get(12)?,
    })
}

impl Store {
    /// Opens (creating) the database at `path`.
    pub(crate) fn open(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| Error::io(OP, &format!("cannot create {}", dir.display()), e))?;
        }
        let conn = Connection::open(path).map_err(|e| db_error("cannot be opened", e))?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(|e| db_error("cannot use WAL", e))?;
        // A process crash loses nothing committed in WAL mode with NORMAL; only power loss can
        // lose the last commits, and then the upload is simply done again.
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(|e| db_error("cannot be configured", e))?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(|e| db_error("cannot be configured", e))?;
        conn.execute_batch(SCHEMA)
            .map_err(|e| db_error("cannot be created", e))?;
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    fn with<T>(&self, what: &str, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T> {
        let conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        f(&conn).map_err(|e| db_error(what, e))
    }

    /// Adds a file, or finds it when the same file (path, key, size, mtime) is there already;
    /// a failed or cancelled one is queued again. Its row either way.
    pub(crate) fn add(
        &self,
        source: &Path,
        key: &str,
        size: u64,
        mtime_ns: i64,
    ) -> Result<QueuedFile> {
        let source = source.to_string_lossy();
        self.with("cannot add a file", |c| {
            let now = now_ms();
            c.execute(
                "INSERT INTO queue_files (source, key, size, mtime_ns, state, added_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, 'queued', ?5, ?5)
                 ON CONFLICT (source, key, size, mtime_ns) DO UPDATE SET
                   state = 'queued', reason = NULL, updated_at = ?5
                 WHERE state IN ('failed', 'cancelled')",
                params![source, key, size as i64, mtime_ns, now],
            )?;
            c.query_row(
                &format!(
                    "SELECT {COLUMNS} FROM queue_files
                     WHERE source = ?1 AND key = ?2 AND size = ?3 AND mtime_ns = ?4"
                ),
                params![source, key, size as i64, mtime_ns],
                from_row,
            )
        })
    }

    /// One file.
    pub(crate) fn get(&self, id: FileId) -> Result<Option<QueuedFile>> {
        self.with("cannot be read", |c| {
            c.query_row(
                &format!("SELECT {COLUMNS} FROM queue_files WHERE id = ?1"),
                [id.0],
                from_row,
            )
            .optional()
        })
    }

    /// Every file, oldest first.
    pub(crate) fn list(&self) -> Result<Vec<QueuedFile>> {
        self.with("cannot be read", |c| {
            let mut st = c.prepare(&format!("SELECT {COLUMNS} FROM queue_files ORDER BY id"))?;
            let rows = st.query_map([], from_row)?;
            rows.collect()
        })
    }

    /// Sets a file's state (and why, for failed and waiting ones). With `only_from`, only when
    /// the file is in one of those states; whether it changed.
    pub(crate) fn set_state(
        &self,
        id: FileId,
        state: FileState,
        reason: Option<&str>,
        only_from: &[FileState],
    ) -> Result<bool> {
        self.with("cannot be written", |c| {
            let allowed: Vec<String> = only_from.iter().map(|s| format!("'{}'", s.as_str())).collect();
            let condition = if allowed.is_empty() {
                String::new()
            } else {
                format!(" AND state IN ({})", allowed.join(","))
            };
            let n = c.execute(
                &format!(
                    "UPDATE queue_files SET state = ?2, reason = ?3, updated_at = ?4 WHERE id = ?1{condition}"
                ),
                params![id.0, state.as_str(), reason, now_ms()],
            )?;
            Ok(n == 1)
        })
    }

    /// Records the bytes a file has sent (for a restart's display; the checkpoint is the truth).
    pub(crate) fn set_progress(&self, id: FileId, bytes_done: u64) -> Result<()> {
        self.with("cannot be written", |c| {
            c.execute(
                "UPDATE queue_files SET bytes_done = ?2 WHERE id = ?1",
                params![id.0, bytes_done as i64],
            )
            .map(|_| ())
        })
    }

    /// A note for the user about the file (e.g. what preparing the photo did).
    pub(crate) fn set_note(&self, id: FileId, note: &str) -> Result<()> {
        self.with("cannot be written", |c| {
            c.execute(
                "UPDATE queue_files SET note = ?2 WHERE id = ?1",
                params![id.0, note],
            )
            .map(|_| ())
        })
    }

    /// Marks a file done, with what OSS confirmed.
    pub(crate) fn set_done(&self, id: FileId, etag: &str, crc64: u64, bytes: u64) -> Result<()> {
        self.with("cannot be written", |c| {
            c.execute(
                "UPDATE queue_files SET state = 'done', reason = NULL, etag = ?2, crc64 = ?3,
                   bytes_done = ?4, updated_at = ?5 WHERE id = ?1",
                params![id.0, etag, crc64.to_string(), bytes as i64, now_ms()],
            )
            .map(|_| ())
        })
    }

    /// Up to `limit` queued files, oldest first.
    pub(crate) fn next_queued(&self, limit: usize, skip: &[FileId]) -> Result<Vec<QueuedFile>> {
        self.with("cannot be read", |c| {
            let mut st = c.prepare(&format!(
                "SELECT {COLUMNS} FROM queue_files WHERE state = 'queued' ORDER BY id"
            ))?;
            let rows = st.query_map([], from_row)?;
            let mut out = Vec::new();
            for row in rows {
                let row = row?;
                if !skip.contains(&row.id) {
                    out.push(row);
                }
                if out.len() >= limit {
                    break;
                }
            }
            Ok(out)
        })
    }

    /// After a restart: files that were being worked on are queued again (their checkpoints
    /// let them resume). How many.
    pub(crate) fn requeue_interrupted(&self) -> Result<usize> {
        self.with("cannot be written", |c| {
            c.execute(
                "UPDATE queue_files SET state = 'queued', updated_at = ?1
                 WHERE state IN ('preparing', 'uploading', 'waiting')",
                [now_ms()],
            )
        })
    }

    /// Forgets finished files (done or cancelled). How many.
    pub(crate) fn clear_finished(&self) -> Result<usize> {
        self.with("cannot be written", |c| {
            c.execute(
                "DELETE FROM queue_files WHERE state IN ('done', 'cancelled')",
                [],
            )
        })
    }
}
