//! The client: configuration, signing each attempt, retries, refresh on expired tokens, and a cap
//! on requests in flight.

use crate::credentials::{Credentials, CredentialsProvider};
use crate::endpoint::{normalize_region, Endpoint};
use crate::error::{Error, ErrorKind, Result};
use crate::pool::BufferPool;
use crate::progress::{AttemptCounter, Tracker};
use bytes::Bytes;
use futures_util::StreamExt;
use http::{HeaderMap, Method};
use oss_direct_wire::sign::{self, SignatureVersion};
use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use time::OffsetDateTime;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Everything a [`Client`] needs besides credentials. Defaults follow the source documents:
/// 15 s connect and read timeouts, 5 requests in flight, 2 retries.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Bucket name.
    pub bucket: String,
    /// Region, e.g. `cn-hangzhou` (`oss-cn-hangzhou` is accepted too); signs V4 requests.
    pub region: String,
    /// Endpoint override (e.g. `http://127.0.0.1:9000`); `None` means the region's endpoint.
    pub endpoint: Option<String>,
    /// Signature version (V4 by default).
    pub signature_version: SignatureVersion,
    /// TCP connect timeout.
    pub connect_timeout: Duration,
    /// Longest wait for the next bytes of an answer.
    pub read_timeout: Duration,
    /// Requests in flight at once, per client.
    pub max_in_flight: usize,
    /// Retries after a connection error, a timeout, a 5xx or `RequestTimeTooSkewed`.
    pub max_retries: u32,
    /// First retry delay; doubled for each further retry, with jitter.
    pub retry_base_delay: Duration,
}

impl ClientConfig {
    /// A configuration with the documented defaults.
    pub fn new(bucket: impl Into<String>, region: impl Into<String>) -> Self {
        Self {
            bucket: bucket.into(),
            region: region.into(),
            endpoint: None,
            signature_version: SignatureVersion::V4,
            connect_timeout: Duration::from_secs(15),
            read_timeout: Duration::from_secs(15),
            max_in_flight: 5,
            max_retries: 2,
            retry_base_delay: Duration::from_millis(200),
        }
    }

    /// Sets the endpoint override.
    pub fn with_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some(endpoint.into());
        self
    }

    /// Sets the signature version.
    pub fn with_signature_version(mut self, v: SignatureVersion) -> Self {
        self.signature_version = v;
        self
    }
}

/// A connection to one bucket. Cheap to clone; clones share the request cap and credentials.
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) config: ClientConfig,
    pub(crate) endpoint: Endpoint,
    pub(crate) http: reqwest::Client,
    pub(crate) credentials: Arc<dyn CredentialsProvider>,
    in_flight: Arc<Semaphore>,
    /// Buffers file bodies are streamed through, shared by all requests of this client.
    pieces: Arc<BufferPool>,
    /// Server time minus local time, in seconds, learnt from `RequestTimeTooSkewed`.
    clock_offset: AtomicI64,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("bucket", &self.inner.config.bucket)
            .field("endpoint", &self.inner.endpoint)
            .finish()
    }
}

/// A request body that can be made again for each attempt.
#[derive(Debug, Clone)]
pub(crate) enum Body {
    Empty,
    Bytes(Bytes),
    /// `len` bytes of a file from `offset`, streamed (read again for each attempt).
    File {
        path: PathBuf,
        offset: u64,
        len: u64,
    },
}

impl Body {
    pub(crate) fn len(&self) -> u64 {
        match self {
            Body::Empty => 0,
            Body::Bytes(b) => b.len() as u64,
            Body::File { len, .. } => *len,
        }
    }
}

/// One OSS request, before signing.
pub(crate) struct Request {
    pub op: &'static str,
    pub method: Method,
    pub key: Option<String>,
    pub query: Vec<(String, String)>,
    pub headers: HeaderMap,
    pub body: Body,
    pub tracker: Option<Arc<Tracker>>,
}

impl Request {
    pub(crate) fn new(op: &'static str, method: Method, key: Option<&str>) -> Self {
        Self {
            op,
            method,
            key: key.map(str::to_string),
            query: Vec::new(),
            headers: HeaderMap::new(),
            body: Body::Empty,
            tracker: None,
        }
    }
    pub(crate) fn query(mut self, k: &str, v: impl Into<String>) -> Self {
        self.query.push((k.to_string(), v.into()));
        self
    }
    pub(crate) fn header(mut self, k: &'static str, v: &str) -> Result<Self> {
        let value = http::HeaderValue::from_str(v).map_err(|_| {
            Error::new(
                ErrorKind::InvalidInput,
                self.op,
                format!("the {k} value {v:?} is not a valid header"),
            )
        })?;
        self.headers.insert(k, value);
        Ok(self)
    }
    pub(crate) fn body(mut self, body: Body) -> Self {
        self.body = body;
        self
    }
}

/// A successful answer. Holds its in-flight slot until dropped.
pub(crate) struct Response {
    pub status: u16,
    pub headers: HeaderMap,
    pub inner: reqwest::Response,
    /// CRC-64 of the body that was sent, when there was one.
    pub sent_crc: Option<u64>,
    _permit: OwnedSemaphorePermit,
}

impl Response {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    pub(crate) fn request_id(&self) -> String {
        self.header("x-oss-request-id")
            .unwrap_or_default()
            .to_string()
    }
    pub(crate) fn etag(&self) -> String {
        self.header("etag").unwrap_or_default().to_string()
    }
    pub(crate) fn crc64(&self) -> Option<u64> {
        self.header("x-oss-hash-crc64ecma")
            .and_then(|v| v.parse().ok())
    }
    pub(crate) async fn bytes(self, op: &'static str) -> Result<Bytes> {
        self.inner
            .bytes()
            .await
            .map_err(|e| Error::from_reqwest(op, e))
    }
}

impl Client {
    /// A client for `config.bucket`, signing with credentials from `credentials`.
    ///
    /// ```
    /// use oss_direct::{AuthServerCredentials, Client, ClientConfig};
    /// use std::sync::Arc;
    /// let creds = Arc::new(AuthServerCredentials::new("http://127.0.0.1:7080/").unwrap());
    /// let config = ClientConfig::new("demo-bucket", "cn-hangzhou").with_endpoint("http://127.0.0.1:9000");
    /// let client = Client::new(config, creds).unwrap();
    /// assert_eq!(client.bucket(), "demo-bucket");
    /// ```
    pub fn new(config: ClientConfig, credentials: Arc<dyn CredentialsProvider>) -> Result<Self> {
        if config.bucket.trim().is_empty() {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                "Client",
                "no bucket is set",
            ));
        }
        if config.region.trim().is_empty() {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                "Client",
                "no region is set",
            ));
        }
        let endpoint = match &config.endpoint {
            Some(e) if !e.trim().is_empty() => Endpoint::parse(e)?,
            _ => Endpoint::for_region(&config.region),
        };
        let http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .read_timeout(config.read_timeout)
            .user_agent(concat!("oss-direct/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::from_reqwest("Client", e))?;
        Ok(Self {
            inner: Arc::new(Inner {
                in_flight: Arc::new(Semaphore::new(config.max_in_flight.max(1))),
                pieces: BufferPool::new(
                    FILE_PIECE,
                    PIECES_PER_REQUEST * config.max_in_flight.max(1),
                ),
                config,
                endpoint,
                http,
                credentials,
                clock_offset: AtomicI64::new(0),
            }),
        })
    }

    /// The bucket.
    pub fn bucket(&self) -> &str {
        &self.inner.config.bucket
    }

    /// The configuration.
    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// The endpoint requests go to.
    pub fn endpoint(&self) -> &Endpoint {
        &self.inner.endpoint
    }

    pub(crate) fn region(&self) -> &str {
        normalize_region(&self.inner.config.region)
    }

    /// Local time corrected by what the server's clock said.
    pub(crate) fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
            + time::Duration::seconds(self.inner.clock_offset.load(Ordering::Relaxed))
    }

    /// Sends a request: signs each attempt, retries what can be retried, refreshes credentials
    /// once on an expired-token answer.
    pub(crate) async fn send(&self, req: Request) -> Result<Response> {
        let inner = &self.inner;
        let mut retries = 0u32;
        let mut refreshed = false;
        loop {
            let creds = inner
                .credentials
                .credentials()
                .await
                .map_err(|e| e.with_operation(req.op))?;
            let permit = inner
                .in_flight
                .clone()
                .acquire_owned()
                .await
                .expect("the semaphore is never closed");
            let attempt = AttemptCounter::new(req.tracker.clone());
            let crc = Arc::new(Mutex::new(crate::crc64::Crc64Hasher::new()));
            let (body, has_body) = self.make_body(&req, &attempt, &crc).await?;
            let headers = self.signed_headers(&req, &creds, has_body);
            let result = inner
                .http
                .request(req.method.clone(), self.url(req.key.as_deref(), &req.query))
                .headers(headers)
                .body(body)
                .send()
                .await;
            let retry_delay = inner.config.retry_base_delay * 2u32.pow(retries);
            let err = match result {
                Ok(resp) if resp.status().is_success() => {
                    let sent_crc = has_body.then(|| crc.lock().expect("crc lock").finish());
                    attempt.commit();
                    return Ok(Response {
                        status: resp.status().as_u16(),
                        headers: resp.headers().clone(),
                        inner: resp,
                        sent_crc,
                        _permit: permit,
                    });
                }
                Ok(resp) => {
                    attempt.rollback();
                    let err = self.error_answer(&req, resp).await;
                    drop(permit);
                    if err.is_credentials_expired() && !refreshed {
                        refreshed = true;
                        tracing::info!(
                            op = req.op,
                            code = err.code(),
                            "credentials refused, refreshing once"
                        );
                        inner.credentials.invalidate().await;
                        continue;
                    }
                    err
                }
                Err(e) => {
                    attempt.rollback();
                    drop(permit);
                    // A file that got shorter than its body is not a network failure.
                    if let Some(changed) = file_got_shorter(req.op, &req.body) {
                        return Err(changed);
                    }
                    Error::from_reqwest(req.op, e)
                }
            };
            if !err.is_retryable() || retries >= inner.config.max_retries {
                return Err(err);
            }
            retries += 1;
            tracing::debug!(op = req.op, error = %err, retries, "retrying");
            sleep_with_jitter(retry_delay).await;
        }
    }

    /// The request's headers, with `Content-Length` when it has a body, signed as configured.
    fn signed_headers(&self, req: &Request, creds: &Credentials, has_body: bool) -> HeaderMap {
        let mut headers = req.headers.clone();
        if has_body {
            headers.insert(http::header::CONTENT_LENGTH, req.body.len().into());
        }
        let now = self.now();
        let bucket = Some(self.inner.config.bucket.as_str());
        let key = req.key.as_deref();
        match self.inner.config.signature_version {
            SignatureVersion::V1 => sign::sign_v1(
                req.method.as_str(),
                bucket,
                key,
                &req.query,
                &mut headers,
                creds.signing(),
                &httpdate::fmt_http_date(now.into()),
            ),
            SignatureVersion::V4 => sign::sign_v4(
                req.method.as_str(),
                bucket,
                key,
                &req.query,
                &mut headers,
                creds.signing(),
                self.region(),
                &v4_timestamp(now),
            ),
        }
        headers
    }

    /// The error an unsuccessful answer carries; a `RequestTimeTooSkewed` also corrects the clock
    /// offset from the server's `Date`, so that the retry is signed with the server's time.
    async fn error_answer(&self, req: &Request, resp: reqwest::Response) -> Error {
        let status = resp.status().as_u16();
        let header = |name| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let server_date =
            header(http::header::DATE.as_str()).and_then(|d| httpdate::parse_http_date(&d).ok());
        let rid = header("x-oss-request-id");
        let body = if req.method == Method::HEAD {
            Bytes::new()
        } else {
            resp.bytes().await.unwrap_or_default()
        };
        let err = Error::from_oss(
            req.op,
            crate::xml::parse_error(status, rid.as_deref(), &body),
        );
        if let (Some("RequestTimeTooSkewed"), Some(server)) = (err.code(), server_date) {
            let offset = (OffsetDateTime::from(server) - OffsetDateTime::now_utc()).whole_seconds();
            self.inner.clock_offset.store(offset, Ordering::Relaxed);
            tracing::info!(offset, "corrected the clock offset from the server's Date");
        }
        err
    }

    async fn make_body(
        &self,
        req: &Request,
        attempt: &AttemptCounter,
        crc: &Arc<Mutex<crate::crc64::Crc64Hasher>>,
    ) -> Result<(reqwest::Body, bool)> {
        const CHUNK: usize = 64 * 1024;
        let observe = {
            let attempt = attempt.clone();
            let crc = crc.clone();
            move |chunk: &[u8]| {
                crc.lock().expect("crc lock").update(chunk);
                attempt.add(chunk.len() as u64);
            }
        };
        Ok(match &req.body {
            Body::Empty => (reqwest::Body::from(Bytes::new()), false),
            Body::Bytes(b) => {
                let chunks: Vec<Bytes> = (0..b.len())
                    .step_by(CHUNK)
                    .map(|i| b.slice(i..(i + CHUNK).min(b.len())))
                    .collect();
                let stream = futures_util::stream::iter(chunks).map(move |c| {
                    observe(&c);
                    Ok::<_, std::io::Error>(c)
                });
                (reqwest::Body::wrap_stream(stream), true)
            }
            Body::File { path, offset, len } => {
                // Opened and read ahead on one blocking thread into the client's reused
                // buffers: one copy per byte, no allocation per piece, the piece still in the
                // CPU's cache when its CRC is taken and it is sent. The first piece (or the
                // error opening or reading the file) comes before anything is sent: a file that
                // cannot be read is the caller's problem, not the network's.
                let mut pieces = self.inner.pieces.stream_file(path.clone(), *offset, *len);
                let first = match pieces.next().await {
                    Some(Ok(piece)) => Some(piece),
                    Some(Err(e)) => return Err(unreadable(req.op, &req.body, path, e)),
                    None => None,
                };
                let stream =
                    futures_util::stream::iter(first.map(Ok))
                        .chain(pieces)
                        .map(move |c| {
                            if let Ok(c) = &c {
                                observe(c);
                            }
                            c
                        });
                (reqwest::Body::wrap_stream(stream), true)
            }
        })
    }

    pub(crate) fn url(&self, key: Option<&str>, query: &[(String, String)]) -> String {
        let mut url = self
            .inner
            .endpoint
            .object_url(&self.inner.config.bucket, key);
        for (i, (k, v)) in query.iter().enumerate() {
            url.push(if i == 0 { '?' } else { '&' });
            url.push_str(&sign::uri_encode(k, false));
            if !v.is_empty() {
                url.push('=');
                url.push_str(&sign::uri_encode(v, false));
            }
        }
        url
    }
}

/// Pieces a file body is read in.
const FILE_PIECE: usize = 256 * 1024;
/// Pooled pieces kept per request in flight (read ahead, queued, being written).
const PIECES_PER_REQUEST: usize = 4;

/// Why a file body's first piece could not be read: the file cannot be opened (`Io`), got
/// shorter ([`file_got_shorter`]), or another read error (`Io`).
fn unreadable(op: &'static str, body: &Body, path: &std::path::Path, e: std::io::Error) -> Error {
    if e.kind() == std::io::ErrorKind::NotFound {
        return Error::io(op, &format!("cannot open {}", path.display()), e);
    }
    file_got_shorter(op, body)
        .unwrap_or_else(|| Error::io(op, &format!("cannot read {}", path.display()), e))
}

/// `FileChanged` when a file body's file no longer holds the bytes the request announced.
fn file_got_shorter(op: &'static str, body: &Body) -> Option<Error> {
    let Body::File { path, offset, len } = body else {
        return None;
    };
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    (size < offset + len).then(|| {
        Error::new(
            ErrorKind::FileChanged,
            op,
            format!("{} got shorter during the upload", path.display()),
        )
    })
}

pub(crate) fn v4_timestamp(t: OffsetDateTime) -> String {
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        t.year(),
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

async fn sleep_with_jitter(base: Duration) {
    use rand::Rng;
    let jitter = rand::thread_rng().gen_range(0..=base.as_millis() as u64 / 2 + 1);
    tokio::time::sleep(base + Duration::from_millis(jitter)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_shorter_than_its_body_is_file_changed_not_network() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, vec![7u8; 1000]).unwrap();
        let body = |offset, len| Body::File {
            path: path.clone(),
            offset,
            len,
        };
        assert!(file_got_shorter("UploadPart", &body(500, 500)).is_none());
        let err = file_got_shorter("UploadPart", &body(600, 500)).expect("shorter");
        assert_eq!(err.kind(), ErrorKind::FileChanged);
        std::fs::remove_file(&path).unwrap();
        assert!(file_got_shorter("PutObject", &body(0, 1)).is_some(), "gone");
        assert!(file_got_shorter("PutObject", &Body::Bytes(Bytes::new())).is_none());
    }

    #[tokio::test]
    async fn a_file_body_that_cannot_be_read_fails_before_sending_with_what_happened() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, vec![7u8; 1000]).unwrap();
        let pool = BufferPool::new(FILE_PIECE, 1);
        let first = |path: std::path::PathBuf, offset, len| {
            let mut s = pool.stream_file(path, offset, len);
            async move { s.next().await.expect("an item") }
        };
        let body = |offset, len| Body::File {
            path: path.clone(),
            offset,
            len,
        };
        // Gone: the open fails.
        let e = first(dir.path().join("gone"), 0, 10).await.unwrap_err();
        let err = unreadable("PutObject", &body(0, 10), &dir.path().join("gone"), e);
        assert_eq!(err.kind(), ErrorKind::Io);
        assert!(err.to_string().contains("cannot open"), "{err}");
        // Shorter than the part: the file changed.
        let e = first(path.clone(), 900, 500).await.unwrap_err();
        let err = unreadable("UploadPart", &body(900, 500), &path, e);
        assert_eq!(err.kind(), ErrorKind::FileChanged);
        // Readable: the first piece is the part's first bytes.
        assert_eq!(first(path.clone(), 10, 20).await.unwrap().len(), 20);
    }
}
