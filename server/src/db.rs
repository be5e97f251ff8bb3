//! The uploads database: SQLite or PostgreSQL through sqlx's `Any` driver, one code path.
//!
//! One table, `uploads`, created on first use with DDL both accept. Times are microseconds since
//! the Unix epoch in a `BIGINT` (the `Any` driver has no portable time type). A replayed callback
//! is caught by the `UNIQUE (bucket, object_key, etag)` constraint and `ON CONFLICT DO NOTHING`,
//! so two server instances on one PostgreSQL cannot both record it.

use std::time::Duration;

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row};
use time::OffsetDateTime;
use tokio::sync::OnceCell;

/// A database URL whose `Display`/`Debug` hide the password.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    /// Wraps a URL (`sqlite://...` or `postgres://...`).
    pub fn new(url: impl Into<String>) -> Self {
        Self(url.into())
    }

    /// The URL with its password (for connecting only; never log it).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `sqlite` or `postgres`.
    pub fn kind(&self) -> &'static str {
        if self.0.starts_with("sqlite:") {
            "sqlite"
        } else {
            "postgres"
        }
    }

    /// The URL with any password replaced by `***`.
    pub fn redacted(&self) -> String {
        match url::Url::parse(&self.0) {
            Ok(mut u) if u.password().is_some() => {
                let _ = u.set_password(Some("***"));
                u.to_string()
            }
            _ => self.0.clone(),
        }
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.redacted())
    }
}

impl std::fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// An upload to record.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NewUpload {
    /// The user whose prefix holds the object; `None` when caller authentication is off.
    pub user: Option<String>,
    /// Bucket.
    pub bucket: String,
    /// Object key.
    pub key: String,
    /// ETag (without quotes).
    pub etag: String,
    /// Size in bytes.
    pub size: Option<i64>,
    /// Content type.
    pub content_type: Option<String>,
    /// Image width in pixels.
    pub image_width: Option<i64>,
    /// Image height in pixels.
    pub image_height: Option<i64>,
    /// Image format (`jpg`, `png`, ...).
    pub image_format: Option<String>,
}

/// A recorded upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    /// Random id.
    pub id: String,
    /// When the callback was recorded.
    pub recorded_at: OffsetDateTime,
    /// What was recorded.
    pub upload: NewUpload,
}

/// Where a page of `list` continues: strictly older than this upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    /// `recorded_at` in microseconds.
    pub recorded_at_us: i64,
    /// Its id (the tie-breaker).
    pub id: String,
}

impl Cursor {
    /// The page token: `<microseconds>.<id>`.
    pub fn token(&self) -> String {
        format!("{}.{}", self.recorded_at_us, self.id)
    }

    /// Parses a page token.
    pub fn parse(token: &str) -> Option<Self> {
        let (us, id) = token.split_once('.')?;
        let ok_id = !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_hexdigit());
        ok_id.then_some(())?;
        Some(Self {
            recorded_at_us: us.parse().ok()?,
            id: id.to_string(),
        })
    }
}

const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS uploads (
        id TEXT PRIMARY KEY,
        recorded_at_us BIGINT NOT NULL,
        user_id TEXT,
        bucket TEXT NOT NULL,
        object_key TEXT NOT NULL,
        etag TEXT NOT NULL,
        size BIGINT,
        content_type TEXT,
        image_width BIGINT,
        image_height BIGINT,
        image_format TEXT,
        UNIQUE (bucket, object_key, etag)
    )",
    "CREATE INDEX IF NOT EXISTS uploads_by_user_recent ON uploads (user_id, recorded_at_us, id)",
    "CREATE INDEX IF NOT EXISTS uploads_recent ON uploads (recorded_at_us, id)",
];

const COLUMNS: &str = "id, recorded_at_us, user_id, bucket, object_key, etag, size, content_type, image_width, image_height, image_format";

/// The uploads table. Connects lazily; the schema is created on first use (or by
/// [`UploadStore::init`] at start-up).
pub struct UploadStore {
    pool: AnyPool,
    url: DatabaseUrl,
    schema: OnceCell<()>,
}

impl std::fmt::Debug for UploadStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UploadStore")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl UploadStore {
    /// A store for `url` that connects on first use. Must be called inside a Tokio runtime.
    pub fn new(url: &DatabaseUrl) -> Result<Self, String> {
        sqlx::any::install_default_drivers();
        let pool = AnyPoolOptions::new()
            .max_connections(if url.kind() == "sqlite" { 4 } else { 8 })
            .acquire_timeout(Duration::from_secs(5))
            .connect_lazy(url.expose())
            .map_err(|e| describe(&e))?;
        Ok(Self {
            pool,
            url: url.clone(),
            schema: OnceCell::new(),
        })
    }

    /// The database URL (password hidden when printed).
    pub fn url(&self) -> &DatabaseUrl {
        &self.url
    }

    /// Opens one connection outside the pool, so that a failure says why (refused, bad
    /// password, no such database) rather than that the pool timed out.
    pub async fn check_connection(&self) -> Result<(), String> {
        use sqlx::Connection as _;
        let connect = sqlx::AnyConnection::connect(self.url.expose());
        let conn = tokio::time::timeout(Duration::from_secs(10), connect)
            .await
            .map_err(|_| "no answer within 10 s".to_string())?
            .map_err(|e| describe(&e))?;
        let _ = conn.close().await;
        Ok(())
    }

    /// Connects and creates the table if needed.
    pub async fn init(&self) -> Result<(), String> {
        self.schema
            .get_or_try_init(|| async {
                // Two instances starting at once on PostgreSQL can race on CREATE ... IF NOT
                // EXISTS; the loser succeeds on a second try. Other errors are final.
                let mut tries = 0;
                loop {
                    tries += 1;
                    match self.create_schema().await {
                        Ok(()) => return Ok(()),
                        Err(sqlx::Error::Database(_)) if tries < 3 => {
                            tokio::time::sleep(Duration::from_millis(200)).await
                        }
                        Err(e) => return Err(describe(&e)),
                    }
                }
            })
            .await
            .map(|_| ())
    }

    async fn create_schema(&self) -> Result<(), sqlx::Error> {
        for statement in SCHEMA {
            sqlx::query(statement).execute(&self.pool).await?;
        }
        Ok(())
    }

    /// Records an upload; `Ok(None)` when the same bucket, key and ETag is already recorded.
    pub async fn record(
        &self,
        new: &NewUpload,
        at: OffsetDateTime,
    ) -> Result<Option<Upload>, String> {
        self.init().await?;
        let id = format!("{:032x}", rand::random::<u128>());
        let recorded_at_us = micros(at);
        let result = sqlx::query(
            "INSERT INTO uploads (id, recorded_at_us, user_id, bucket, object_key, etag, size, content_type, image_width, image_height, image_format)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
             ON CONFLICT (bucket, object_key, etag) DO NOTHING",
        )
        .bind(&id)
        .bind(recorded_at_us)
        .bind(new.user.clone())
        .bind(&new.bucket)
        .bind(&new.key)
        .bind(&new.etag)
        .bind(new.size)
        .bind(new.content_type.clone())
        .bind(new.image_width)
        .bind(new.image_height)
        .bind(new.image_format.clone())
        .execute(&self.pool)
        .await
        .map_err(|e| describe(&e))?;
        if result.rows_affected() == 0 {
            return Ok(None);
        }
        Ok(Some(Upload {
            id,
            recorded_at: from_micros(recorded_at_us),
            upload: new.clone(),
        }))
    }

    /// The record of one stored version of an object, if there is one.
    pub async fn find(
        &self,
        bucket: &str,
        key: &str,
        etag: &str,
    ) -> Result<Option<Upload>, String> {
        self.init().await?;
        let sql = format!(
            "SELECT {COLUMNS} FROM uploads WHERE bucket = $1 AND object_key = $2 AND etag = $3"
        );
        let row = sqlx::query(&sql)
            .bind(bucket)
            .bind(key)
            .bind(etag)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| describe(&e))?;
        row.as_ref()
            .map(from_row)
            .transpose()
            .map_err(|e| describe(&e))
    }

    /// Up to `limit` uploads, newest first: `user`'s only when given, older than `after` when
    /// given. The cursor continues the list when there may be more.
    pub async fn list(
        &self,
        user: Option<&str>,
        limit: u32,
        after: Option<&Cursor>,
    ) -> Result<(Vec<Upload>, Option<Cursor>), String> {
        self.init().await?;
        let mut conditions = Vec::new();
        let mut n = 0;
        let mut next = || {
            n += 1;
            format!("${n}")
        };
        if user.is_some() {
            conditions.push(format!("user_id = {}", next()));
        }
        if after.is_some() {
            let (a, b, c) = (next(), next(), next());
            conditions.push(format!(
                "(recorded_at_us < {a} OR (recorded_at_us = {b} AND id < {c}))"
            ));
        }
        let filter = if conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conditions.join(" AND "))
        };
        // One more than asked, to know whether there is a next page.
        let sql = format!(
            "SELECT {COLUMNS} FROM uploads {filter} ORDER BY recorded_at_us DESC, id DESC LIMIT {}",
            u64::from(limit) + 1
        );
        let mut query = sqlx::query(&sql);
        if let Some(u) = user {
            query = query.bind(u);
        }
        if let Some(c) = after {
            query = query
                .bind(c.recorded_at_us)
                .bind(c.recorded_at_us)
                .bind(c.id.as_str());
        }
        let rows = query
            .fetch_all(&self.pool)
            .await
            .map_err(|e| describe(&e))?;
        let mut uploads = rows
            .iter()
            .map(from_row)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| describe(&e))?;
        let more = uploads.len() > limit as usize;
        uploads.truncate(limit as usize);
        let cursor = more.then(|| {
            let last = uploads.last().expect("limit is at least 1");
            Cursor {
                recorded_at_us: micros(last.recorded_at),
                id: last.id.clone(),
            }
        });
        Ok((uploads, cursor))
    }
}

fn from_row(row: &AnyRow) -> Result<Upload, sqlx::Error> {
    Ok(Upload {
        id: row.try_get("id")?,
        recorded_at: from_micros(row.try_get("recorded_at_us")?),
        upload: NewUpload {
            user: row.try_get("user_id")?,
            bucket: row.try_get("bucket")?,
            key: row.try_get("object_key")?,
            etag: row.try_get("etag")?,
            size: row.try_get("size")?,
            content_type: row.try_get("content_type")?,
            image_width: row.try_get("image_width")?,
            image_height: row.try_get("image_height")?,
            image_format: row.try_get("image_format")?,
        },
    })
}

fn micros(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1000) as i64
}

fn from_micros(us: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(us) * 1000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// A database error in one line, without the URL (which may hold a password).
fn describe(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(db) => format!("database error: {}", db.message()),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_hide_passwords() {
        let u = DatabaseUrl::new("postgres://app:s3cret@db:5432/uploads");
        assert_eq!(u.to_string(), "postgres://app:***@db:5432/uploads");
        assert!(!format!("{u:?}").contains("s3cret"));
        assert_eq!(u.kind(), "postgres");
        assert_eq!(DatabaseUrl::new("sqlite:///x.db").kind(), "sqlite");
    }

    #[test]
    fn cursors_round_trip_and_refuse_garbage() {
        let c = Cursor {
            recorded_at_us: 1_700_000_000_000_000,
            id: "00ff".into(),
        };
        assert_eq!(Cursor::parse(&c.token()), Some(c));
        for bad in ["", "1", "x.00ff", "1.", "1.zz", "1.00ff' OR 1=1"] {
            assert_eq!(Cursor::parse(bad), None, "{bad}");
        }
    }
}
