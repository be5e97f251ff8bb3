//! GetObject's HTTP compression, as OSS does it: with `Accept-Encoding: gzip`, a whole-object
//! GET of 1 KB or more whose Content-Type is a text type OSS compresses is answered gzip
//! compressed and chunked (no Content-Length); the ETag and CRC-64 stay those of the stored
//! bytes.

use crate::storage::ObjectMeta;
use axum::body::Body;
use bytes::Bytes;
use std::io::Read;

/// The content types OSS compresses.
const TYPES: &[&str] = &[
    "text/cache-manifest",
    "text/xml",
    "text/plain",
    "text/css",
    "application/javascript",
    "application/x-javascript",
    "application/rss+xml",
    "application/json",
    "text/json",
];

/// Smallest object OSS compresses.
const MIN_SIZE: u64 = 1024;

/// Whether a whole-object GET of `meta` with these request headers is answered compressed.
pub(crate) fn wanted(headers: &http::HeaderMap, meta: &ObjectMeta) -> bool {
    let accepts = headers
        .get_all(http::header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|e| {
            e.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .eq_ignore_ascii_case("gzip")
        });
    let media = meta.content_type.split(';').next().unwrap_or("").trim();
    let already_encoded = meta.headers.iter().any(|(k, _)| k == "content-encoding");
    accepts
        && meta.size >= MIN_SIZE
        && !already_encoded
        && TYPES.iter().any(|t| t.eq_ignore_ascii_case(media))
}

/// The file's bytes, gzip compressed on a blocking thread, as a streamed body.
pub(crate) fn body(file: std::fs::File) -> Body {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(4);
    tokio::task::spawn_blocking(move || {
        let mut encoder = flate2::read::GzEncoder::new(
            std::io::BufReader::new(file),
            flate2::Compression::fast(),
        );
        loop {
            let mut buf = vec![0u8; 64 * 1024];
            match encoder.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    buf.truncate(n);
                    if tx.blocking_send(Ok(Bytes::from(buf))).is_err() {
                        break;
                    }
                }
                Err(e) => {
                    let _ = tx.blocking_send(Err(e));
                    break;
                }
            }
        }
    });
    Body::from_stream(futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx)))
}
