//! Direct upload to Alibaba Cloud OSS from apps and tools that hold only short-lived STS
//! credentials: the library behind the oss-direct app and CLI.
//!
//! - [`credentials`]: a redacted [`Credentials`] value, the [`CredentialsProvider`] trait, a
//!   static provider and [`AuthServerCredentials`], which asks the app token server and
//!   refreshes 5 minutes before expiry, once for all callers.
//! - Signing: V1 and V4 OSS signatures (header and presigned URL), byte for byte as the official
//!   SDKs compute them, from `oss-direct-wire` (shared with oss-local and the token server); the
//!   client signs every request and [`Client::presign_get`]-style URLs itself.
//! - [`Client`]: PutObject streamed from disk, GetObject, HeadObject, DeleteObject,
//!   ListObjectsV2, multipart operations, presigned URLs; timeouts, retries and a cap on
//!   requests in flight.
//! - [`resumable`]: checkpointed multipart upload with pause, resume and a CRC-64 check.
//! - [`process`]: `x-oss-process` builders for thumbnails and watermarks.
//! - [`prepare`]: photos prepared on the device before upload: upright, metadata (GPS)
//!   removed, optionally smaller.
//!
//! ```no_run
//! use oss_direct::{AuthServerCredentials, Client, ClientConfig, UploadOptions};
//! use std::sync::Arc;
//! # async fn run() -> oss_direct::Result<()> {
//! let creds = Arc::new(AuthServerCredentials::new("http://192.168.1.10:7080/")?);
//! let hints = creds.token().await?.hints; // bucket, region, endpoint, prefix
//! let config = ClientConfig::new(hints.bucket.unwrap(), hints.region.unwrap());
//! let client = Client::new(config, creds)?;
//! let out = client
//!     .upload_file("uploads/cat.jpg", "cat.jpg".as_ref(), UploadOptions::default())
//!     .await?;
//! println!("{} {} crc64={}", out.upload.key, out.upload.etag, out.upload.crc64);
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

pub mod callback;
pub mod checkpoint;
mod client;
pub mod crc64;
pub mod credentials;
pub mod endpoint;
mod error;
pub mod multipart;
pub mod object;
mod pool;
pub mod prepare;
pub mod process;
pub mod progress;
pub mod queue;
pub mod resumable;
pub mod settings;
pub mod uploads;
pub mod xml;

pub use callback::{Callback, CallbackOutcome};
pub use client::{Client, ClientConfig};
pub use credentials::{
    AuthServerCredentials, Credentials, CredentialsProvider, StaticCredentials, TokenHints,
    TokenResponse,
};
pub use endpoint::Endpoint;
pub use error::{Error, ErrorKind, OssError, Result};
pub use object::{GetOptions, ObjectMeta, PutOptions, UploadOutput};
pub use oss_direct_wire::sign::SignatureVersion;
pub use prepare::{
    prepare_bytes, prepare_file, PhotoFormat, PrepareLimits, PrepareOptions, PrepareReport,
    Prepared, Removed,
};
pub use progress::{Progress, ProgressFn};
pub use resumable::{CancellationToken, ResumableOutput, UploadMode, UploadOptions};
pub use settings::{Connection, Settings};
