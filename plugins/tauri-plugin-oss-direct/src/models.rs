//! The types that cross IPC, all in camelCase (the guest-js types in `guest-js/index.ts` mirror
//! them).

use oss_direct::{Settings, UploadMode};
use serde::{Deserialize, Serialize};

/// Files uploading at once by default.
pub const DEFAULT_JOBS: usize = 3;

/// Everything on the Settings screen. `Debug` never shows the user token.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AppSettings {
    /// App server URL, bucket, region, endpoint, prefix, signature version.
    #[serde(flatten)]
    pub oss: Settings,
    /// Auto, simple or resumable.
    pub upload_mode: UploadMode,
    /// Part size in bytes for resumable uploads.
    pub part_size: u64,
    /// Parts in flight.
    pub concurrency: usize,
    /// Sent as `Authorization: Bearer` when the token server requires sign-in.
    pub user_token: String,
    /// Text of the watermarked preview.
    pub watermark_text: String,
    /// Files uploading at once in the queue (1–10; default 3). The client's cap of 5 requests
    /// in flight holds whatever this is.
    pub jobs: usize,
    /// Whether files left unfinished when the app stopped upload again by themselves on start
    /// (default on; off: they wait, paused, for Resume).
    pub auto_resume: bool,
    /// "Photo size": photos scaled down before upload, or sent at their own size.
    pub photo_size: PhotoSize,
    /// "Remove location and camera data" from photos before upload (EXIF with the GPS
    /// position, XMP, IPTC, PNG text; the orientation applied to the pixels). Default on.
    pub strip_metadata: bool,
}

/// The "Photo size" setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PhotoSize {
    /// As taken.
    #[default]
    Original,
    /// Long edge at most 2048 px.
    Large,
    /// Long edge at most 1280 px.
    Medium,
}

impl PhotoSize {
    /// The longest edge a photo keeps, if it is scaled.
    pub fn max_edge(self) -> Option<u32> {
        match self {
            Self::Original => None,
            Self::Large => Some(2048),
            Self::Medium => Some(1280),
        }
    }
}

impl AppSettings {
    /// What the queue does to photos before upload, or `None` when it leaves them alone.
    pub fn prepare_options(&self) -> Option<oss_direct::prepare::PrepareOptions> {
        let o = oss_direct::prepare::PrepareOptions {
            strip_metadata: self.strip_metadata,
            max_edge: self.photo_size.max_edge(),
            ..Default::default()
        };
        (!o.is_noop()).then_some(o)
    }
}

impl std::fmt::Debug for AppSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppSettings")
            .field("oss", &self.oss)
            .field("upload_mode", &self.upload_mode)
            .field("part_size", &self.part_size)
            .field("concurrency", &self.concurrency)
            .field(
                "user_token",
                &if self.user_token.is_empty() {
                    ""
                } else {
                    "***"
                },
            )
            .field("watermark_text", &self.watermark_text)
            .field("jobs", &self.jobs)
            .field("auto_resume", &self.auto_resume)
            .field("photo_size", &self.photo_size)
            .field("strip_metadata", &self.strip_metadata)
            .finish()
    }
}

impl Default for AppSettings {
    fn default() -> Self {
        Self {
            oss: Settings::default(),
            upload_mode: UploadMode::Auto,
            part_size: oss_direct::resumable::DEFAULT_PART_SIZE,
            concurrency: oss_direct::resumable::DEFAULT_CONCURRENCY,
            user_token: String::new(),
            watermark_text: "oss-direct".into(),
            jobs: DEFAULT_JOBS,
            auto_resume: true,
            photo_size: PhotoSize::Original,
            strip_metadata: true,
        }
    }
}

/// What "Test connection" shows.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionInfo {
    /// The settings, with empty fields filled from the server's hints.
    pub settings: AppSettings,
    /// When the token expires (RFC 3339).
    pub expiration: String,
    /// Seconds it has left.
    pub seconds_left: i64,
    /// The endpoint uploads go to.
    pub endpoint: String,
}

/// A picked file, as the UI sees it: an opaque id, never a path.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PickedFile {
    /// The handle the backend issued for this pick (see [`crate::picks`]); the commands that
    /// read the file take it.
    pub id: String,
    /// The file's name.
    pub name: String,
    /// Bytes.
    pub size: u64,
    /// The object name suggested for it (prefix + name).
    pub suggested_key: String,
}

/// Start an upload.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UploadRequest {
    /// The UI's id for this upload (used to pause, resume and cancel it).
    pub id: String,
    /// The picked file: what [`PickedFile::id`] said.
    pub file: String,
    /// Object name.
    pub key: String,
    /// Overrides the setting for this upload.
    #[serde(default)]
    pub mode: Option<UploadMode>,
}

/// Files to add to the upload queue: handles from `pick_image`/`pick_images`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EnqueueFile {
    /// The picked file: what [`PickedFile::id`] said.
    pub file: String,
    /// Object name (default: the suggested one, prefix + file name).
    #[serde(default)]
    pub key: Option<String>,
}

/// One file of the upload queue, as the UI sees it (no local path).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueItem {
    /// The queue's id for the file (pass it to `queue_pause`, `queue_resume`, `queue_cancel`).
    pub id: i64,
    /// The file's name as the user knows it.
    pub name: String,
    /// Object name.
    pub key: String,
    /// Bytes of the original.
    pub size: u64,
    /// `queued`, `preparing`, `uploading`, `paused`, `waiting` (for the network: the queue
    /// tries again by itself), `failed`, `done` or `cancelled`.
    pub state: oss_direct::queue::FileState,
    /// Why it failed or waits, worded for the user.
    pub reason: Option<String>,
    /// Bytes OSS has.
    pub bytes_done: u64,
    /// ETag, once done.
    pub etag: Option<String>,
    /// CRC-64 (decimal), once done and verified.
    pub crc64: Option<String>,
    /// What preparing the photo did: `4.2 MB → 1.1 MB, location removed`, or `uploaded
    /// unchanged (HEIC cannot be decoded here)`.
    pub note: Option<String>,
    /// When it was added (ms since the epoch).
    pub added_at_ms: i64,
    /// When its state last changed (ms since the epoch).
    pub updated_at_ms: i64,
    /// Parts an earlier run had already sent (for a file stored by this run of the app).
    pub resumed_parts: u32,
    /// What the app server said through the upload callback (for a file stored by this run
    /// of the app, when the server asked for one).
    pub callback: Option<oss_direct::CallbackOutcome>,
}

/// The queue at a glance: the files of this session and every unfinished one.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueSummary {
    /// Files shown.
    pub files: usize,
    /// Queued, preparing or uploading.
    pub active: usize,
    /// Waiting for the network.
    pub waiting: usize,
    /// Paused.
    pub paused: usize,
    /// Failed.
    pub failed: usize,
    /// Done.
    pub done: usize,
    /// Bytes of the files not cancelled.
    pub bytes_total: u64,
    /// Bytes of them OSS has (a done file counts whole).
    pub bytes_done: u64,
    /// Recent throughput, bytes per second.
    pub bytes_per_second: f64,
    /// Seconds left at that speed, when known.
    pub eta_seconds: Option<u64>,
    /// Whether the queue is connected and running (false while the App server is unreachable
    /// at start, or before any App server is set).
    pub running: bool,
}

/// Messages on the queue's channel (`queue_events`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "type")]
pub enum QueueMessage {
    /// A file changed state (or was added).
    #[serde(rename_all = "camelCase")]
    File {
        /// The file as it is now.
        file: QueueItem,
    },
    /// Bytes went out (at most ten a second per file, and always the last).
    #[serde(rename_all = "camelCase")]
    Progress {
        /// Which file.
        id: i64,
        /// Bytes OSS has.
        bytes_done: u64,
        /// Bytes to send (the prepared photo's size when it was prepared).
        bytes_total: u64,
    },
    /// The queue was opened again (new settings, or connected at last): list the files again.
    Reset,
}

/// Messages on the upload's channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "event")]
pub enum UploadEvent {
    /// The upload began (after a resume, `bytesDone` starts where the last run stopped).
    #[serde(rename_all = "camelCase")]
    Started {
        /// `simple` or `resumable`.
        mode: String,
        /// Bytes in all.
        bytes_total: u64,
    },
    /// Bytes and parts done.
    #[serde(rename_all = "camelCase")]
    Progress {
        /// Bytes sent.
        bytes_done: u64,
        /// Bytes in all.
        bytes_total: u64,
        /// Parts done.
        parts_done: u32,
        /// Parts in all.
        parts_total: u32,
    },
}

/// The state of an upload in the history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UploadState {
    /// In the queue, waiting for a free slot.
    Queued,
    /// Being prepared or sent.
    Uploading,
    /// The network (or the App server) is away: tried again by itself.
    Waiting,
    /// Stopped with its checkpoint kept: can be resumed.
    Paused,
    /// Failed; `resumable` says whether Resume can finish it.
    Failed,
    /// In OSS, CRC-64 verified.
    Done,
    /// Cancelled and removed from OSS.
    Cancelled,
}

/// One upload in the history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    /// The UI's id.
    pub id: String,
    /// Object name.
    pub key: String,
    /// Bucket.
    pub bucket: String,
    /// The file as picked (path or URI).
    pub source: String,
    /// The file uploaded from (a copy in the app cache on mobile).
    pub local_path: String,
    /// File name.
    pub name: String,
    /// Bytes.
    pub size: u64,
    /// Whether it is a resumable upload.
    pub resumable: bool,
    /// State.
    pub state: UploadState,
    /// Bytes known to be in OSS.
    pub bytes_done: u64,
    /// ETag, once done.
    pub etag: Option<String>,
    /// CRC-64, once done and verified.
    pub crc64: Option<String>,
    /// The last error, for failed uploads.
    pub error: Option<String>,
    /// Unix seconds.
    pub started_at: i64,
    /// Unix seconds.
    pub updated_at: i64,
}

/// What a finished upload shows.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadResult {
    /// The history entry.
    pub entry: HistoryEntry,
    /// Parts an earlier run had already sent.
    pub resumed_parts: u32,
    /// Why an earlier checkpoint was not used, if it was not.
    pub restarted: Option<String>,
    /// What the app server said through OSS's upload callback, when one was attached.
    pub callback: Option<oss_direct::CallbackOutcome>,
}

/// One upload as the app server recorded it, in camelCase (the token server's `GET /uploads`
/// speaks PascalCase; the webview sees the same names as everywhere else).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordedUpload {
    /// The server's id for the record.
    pub id: String,
    /// The signed-in user it belongs to (none when the server checks no identity).
    pub user: Option<String>,
    /// Bucket.
    pub bucket: String,
    /// Object name.
    pub key: String,
    /// ETag, without quotes.
    pub etag: String,
    /// Bytes.
    pub size: Option<u64>,
    /// Content-Type.
    pub content_type: Option<String>,
    /// Image width, for images.
    pub image_width: Option<u64>,
    /// Image height, for images.
    pub image_height: Option<u64>,
    /// Image format, for images.
    pub image_format: Option<String>,
    /// When it was recorded (RFC 3339, UTC).
    pub uploaded_at: String,
}

impl From<oss_direct::uploads::RecordedUpload> for RecordedUpload {
    fn from(u: oss_direct::uploads::RecordedUpload) -> Self {
        Self {
            id: u.id,
            user: u.user,
            bucket: u.bucket,
            key: u.key,
            etag: u.etag,
            size: u.size,
            content_type: u.content_type,
            image_width: u.image_width,
            image_height: u.image_height,
            image_format: u.image_format,
            uploaded_at: u.uploaded_at,
        }
    }
}

/// One upload the app server recorded (from an OSS upload callback), with a small thumbnail.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerUpload {
    /// What the server recorded.
    pub upload: RecordedUpload,
    /// A `data:` URL of a 96×96 IMG thumbnail, for images the token may read (the webview's
    /// CSP loads no image from the network).
    pub thumbnail: Option<String>,
}

/// A page of "My uploads".
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerUploads {
    /// Newest first.
    pub items: Vec<ServerUpload>,
    /// Pass back for the next page.
    pub next_after: Option<String>,
}

/// Ask for a presigned GET URL, e.g. of a thumbnail for an `<img>` in an app whose CSP loads
/// images from OSS.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignedUrlRequest {
    /// Object name.
    pub key: String,
    /// An `x-oss-process` value such as `image/resize,w_200`, checked before signing.
    #[serde(default)]
    pub process: Option<String>,
    /// Seconds the URL stays valid (default 3600, at most 86400; it also ends with the STS
    /// token the URL is signed with).
    #[serde(default)]
    pub expires_in_secs: Option<u64>,
}

/// Thumbnail, watermark and link of an uploaded image.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Previews {
    /// `data:` URL of the IMG thumbnail.
    pub thumbnail: Option<String>,
    /// `data:` URL of the watermarked preview.
    pub watermarked: Option<String>,
    /// A presigned GET URL of the original (1 hour).
    pub signed_url: Option<String>,
    /// The `x-oss-process` values used.
    pub thumbnail_process: String,
    /// The watermark's `x-oss-process` value.
    pub watermark_process: String,
    /// Why previews are missing, if they are.
    pub error: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_prints_the_user_token() {
        let token = "eyJhbGciOiJIUzI1NiJ9.c2VjcmV0LXVzZXI.sig-Zm9vYmFy";
        let s = AppSettings {
            user_token: token.into(),
            ..Default::default()
        };
        let shown = format!("{s:?}");
        assert!(!shown.contains(token), "{shown}");
        assert!(!shown.contains("c2VjcmV0LXVzZXI"), "{shown}");
        assert!(shown.contains("user_token: \"***\""), "{shown}");
        let pretty = format!(
            "{:#?}",
            ConnectionInfo {
                settings: s,
                expiration: String::new(),
                seconds_left: 0,
                endpoint: String::new(),
            }
        );
        assert!(!pretty.contains(token), "{pretty}");
        assert!(format!("{:?}", AppSettings::default()).contains("user_token: \"\""));
    }
}
