//! The upload engine without the IPC: settings, connection, picked files, history. The commands
//! in `commands.rs` only translate to and from these calls.
//!
//! - [`queue`]: the upload queue (many files, waits out the network, resumes after a restart),
//!   in SQLite beside the history.
//! - [`upload`]: single uploads (start, resume, pause, cancel) and the history, on the queue.
//! - [`records`]: the plugin's table beside the queue's, and the move of `history.json` into it.
//! - [`reads`]: what is read back from OSS and the app server (previews, signed URLs, "My
//!   uploads", downloads).

mod queue;
mod reads;
pub mod records;
mod runtime;
mod upload;

pub(crate) use queue::start_in_background;

pub use reads::{thumbnail_process, watermark_process, THUMBNAIL_WIDTH};

use crate::error::{Error, Result};
use crate::models::*;
use crate::picks::{Pick, Picks};
use crate::store;
use oss_direct::Connection;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The plugin's folders.
#[derive(Debug, Clone)]
pub struct Dirs {
    /// Settings, the queue and history database, checkpoints.
    pub data: PathBuf,
    /// Copies of picked files (mobile) and prepared photos while they upload.
    pub cache: PathBuf,
}

/// The upload engine's state, shared by every command (managed by the plugin; reach it with
/// [`crate::OssDirectExt::oss_direct`]).
pub struct OssDirect {
    dirs: Dirs,
    settings: Mutex<AppSettings>,
    queue: queue::QueueHost,
    connection: tokio::sync::Mutex<Option<(AppSettings, Connection)>>,
    picks: Picks,
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

impl OssDirect {
    /// Loads the settings from `dirs.data` and opens the upload queue's database there (when
    /// the settings name a bucket), moving an old `history.json` into it. Nothing uploads until
    /// the queue is started (the plugin does so in the background when it is set up).
    pub fn new(dirs: Dirs) -> Self {
        let settings: AppSettings = store::load(&dirs.data.join("settings.json"));
        let service = Self {
            dirs,
            settings: Mutex::new(settings),
            queue: queue::QueueHost::default(),
            connection: tokio::sync::Mutex::new(None),
            picks: Picks::default(),
        };
        service.open_offline();
        service
    }

    /// The folders.
    pub fn dirs(&self) -> &Dirs {
        &self.dirs
    }

    /// Current settings.
    pub fn settings(&self) -> AppSettings {
        self.settings.lock().expect("settings lock").clone()
    }

    /// Sets the App server to `url` when none is saved yet, and saves it if it is usable (the
    /// demo and the tests preset it; a bad URL is logged and left out).
    pub fn preset_server_url(&self, url: &str) {
        let mut s = self.settings();
        if s.oss.server_url.is_empty() {
            s.oss.server_url = url.to_string();
            if let Err(e) = self.save_settings(s) {
                tracing::warn!(error = %e, "the preset App server URL was not usable");
            }
        }
    }

    /// Validates and saves settings.
    pub fn save_settings(&self, s: AppSettings) -> Result<AppSettings> {
        if !s.oss.server_url.trim().is_empty() {
            oss_direct::AuthServerCredentials::new(s.oss.server_url.trim())?;
        }
        if !s.oss.endpoint.trim().is_empty() {
            oss_direct::Endpoint::parse(&s.oss.endpoint)?;
        }
        if s.jobs == 0 || s.jobs > 10 {
            return Err(Error::Invalid(
                "files at once must be between 1 and 10".into(),
            ));
        }
        if s.concurrency == 0 || s.concurrency > 20 {
            return Err(Error::Invalid(
                "concurrency must be between 1 and 20".into(),
            ));
        }
        if s.part_size < oss_direct::multipart::MIN_PART_SIZE {
            return Err(Error::Invalid(format!(
                "the part size must be at least {} bytes (100 KB)",
                oss_direct::multipart::MIN_PART_SIZE
            )));
        }
        store::save(&self.dirs.data.join("settings.json"), &s)?;
        *self.settings.lock().expect("settings lock") = s.clone();
        Ok(s)
    }

    /// A client for the current settings (reused while the settings stay the same), with the
    /// settings' empty fields filled from the token server's hints and saved.
    pub async fn connect(&self) -> Result<Connection> {
        let settings = self.settings();
        if settings.oss.server_url.trim().is_empty() {
            return Err(Error::Invalid(
                "set the App server URL in Settings first".into(),
            ));
        }
        let mut cached = self.connection.lock().await;
        if let Some((s, c)) = cached.as_ref() {
            if *s == settings {
                return Ok(c.clone());
            }
        }
        let mut filled = settings.clone();
        let token = (!settings.user_token.is_empty()).then_some(settings.user_token.as_str());
        let conn = filled.oss.connect(token).await?;
        if filled != settings {
            self.save_settings(filled.clone())?;
        }
        *cached = Some((filled, conn.clone()));
        Ok(conn)
    }

    /// "Test connection": a fresh token, its expiry, and the settings it filled in.
    pub async fn test_connection(&self) -> Result<ConnectionInfo> {
        *self.connection.lock().await = None;
        let conn = self.connect().await?;
        let exp = conn
            .expiration
            .unwrap_or_else(time::OffsetDateTime::now_utc);
        Ok(ConnectionInfo {
            settings: self.settings(),
            expiration: exp
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            seconds_left: (exp - time::OffsetDateTime::now_utc()).whole_seconds(),
            endpoint: conn.client.endpoint().base_url(),
        })
    }

    /// Records a file the user picked (`source` as the picker gave it, `local` the readable
    /// file, `name` its name as the user knows it) and describes it under its new handle. Only
    /// the backend calls this, after the system picker answered: the webview has no way to
    /// name a file itself.
    pub async fn add_pick(
        &self,
        source: String,
        local: PathBuf,
        name: String,
    ) -> Result<PickedFile> {
        let id = self.picks.issue(source, local, name)?;
        self.describe(&id).await
    }

    /// Describes a picked file and suggests its object name (asking the token server for the
    /// allowed prefix first when none is known yet).
    pub async fn describe(&self, id: &str) -> Result<PickedFile> {
        let pick = self.picks.get(id)?;
        let size = pick_size(&pick).await?;
        let s = self.settings();
        if s.oss.object_prefix.is_empty() && !s.oss.server_url.is_empty() {
            if let Err(e) = self.connect().await {
                tracing::info!(error = %e, "no prefix hint yet");
            }
        }
        Ok(PickedFile {
            id: id.to_string(),
            suggested_key: self.settings().oss.key_for(&pick.name),
            name: pick.name,
            size,
        })
    }

    /// The picked image as a `data:` URL for the preview (none above `limit` bytes or for
    /// files that are not images). Reads off the IPC thread.
    pub async fn preview(&self, id: &str, limit: u64) -> Result<Option<String>> {
        use base64::Engine;
        let pick = self.picks.get(id)?;
        let mime = oss_direct::object::content_type_for(Path::new(&pick.name));
        if !mime.starts_with("image/") || pick_size(&pick).await? > limit {
            return Ok(None);
        }
        let bytes = tokio::fs::read(&pick.local)
            .await
            .map_err(|e| Error::Io(format!("cannot read {}: {e}", pick.name)))?;
        Ok(Some(format!(
            "data:{mime};base64,{}",
            base64::engine::general_purpose::STANDARD.encode(bytes)
        )))
    }

    fn checkpoint_dir(&self) -> PathBuf {
        self.dirs.data.join("checkpoints")
    }
}

/// The size of a picked file now (it may have changed since it was picked).
async fn pick_size(pick: &Pick) -> Result<u64> {
    let meta = tokio::fs::metadata(&pick.local)
        .await
        .map_err(|e| Error::Io(format!("cannot read {}: {e}", pick.name)))?;
    if !meta.is_file() {
        return Err(Error::Invalid(format!("{} is not a file", pick.name)));
    }
    Ok(meta.len())
}

/// Image bytes as a `data:` URL the webview can show under its CSP.
fn data_url(bytes: &[u8]) -> String {
    use base64::Engine;
    format!(
        "data:{};base64,{}",
        sniff_mime(bytes),
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

fn sniff_mime(b: &[u8]) -> &'static str {
    match b {
        [0x89, b'P', b'N', b'G', ..] => "image/png",
        [0xFF, 0xD8, ..] => "image/jpeg",
        [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => "image/webp",
        [b'G', b'I', b'F', ..] => "image/gif",
        [b'B', b'M', ..] => "image/bmp",
        _ => "application/octet-stream",
    }
}
