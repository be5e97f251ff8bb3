//! Reading a request body chunk by chunk, with the "cut the connection after K bytes" fault.

use crate::context::Resp;
use crate::xml::OssError;
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use std::sync::Arc;
use tokio::sync::Notify;

/// A request body being read; counts bytes and can drop the connection at a set point.
pub(crate) struct RequestBody {
    inner: Option<Incoming>,
    read: u64,
    cut_after: Option<u64>,
    cut: Arc<Notify>,
    polled: bool,
    max: Option<u64>,
}

impl RequestBody {
    pub fn new(inner: Incoming, cut: Arc<Notify>) -> Self {
        Self {
            inner: Some(inner),
            read: 0,
            cut_after: None,
            cut,
            polled: false,
            max: None,
        }
    }

    /// Drops the connection once `bytes` bytes of this body have been read.
    pub fn cut_after(&mut self, bytes: u64) {
        self.cut_after = Some(bytes);
    }

    /// Refuses the body with `EntityTooLarge` once more than `max` bytes arrived, whatever the
    /// framing (a chunked body announces no length).
    pub fn limit(&mut self, max: u64) {
        self.max = Some(max);
    }

    /// The length the request announced (its Content-Length), if it did.
    pub fn announced_len(&self) -> Option<u64> {
        use hyper::body::Body as _;
        self.inner.as_ref().and_then(|b| b.size_hint().exact())
    }

    /// What drops this request's connection.
    pub fn cut_handle(&self) -> Arc<Notify> {
        self.cut.clone()
    }

    /// Drops the connection now (the response is never sent).
    pub async fn cut_now(&self) -> ! {
        self.cut.notify_one();
        std::future::pending::<()>().await;
        unreachable!("the connection task is dropped")
    }

    /// The next chunk, or `None` at the end.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, OssError> {
        self.polled = true;
        loop {
            let Some(inner) = self.inner.as_mut() else {
                return Ok(None);
            };
            match inner.frame().await {
                None => {
                    self.inner = None;
                    return Ok(None);
                }
                Some(Err(e)) => {
                    return Err(OssError::new(
                        400,
                        "IncompleteBody",
                        format!("You did not provide the number of bytes specified by the Content-Length HTTP header: {e}"),
                    ))
                }
                Some(Ok(frame)) => {
                    let Ok(data) = frame.into_data() else { continue };
                    if let Some(limit) = self.cut_after {
                        if self.read + data.len() as u64 >= limit {
                            tracing::info!("fault: cutting the connection after {limit} body bytes");
                            self.cut_now().await;
                        }
                    }
                    self.read += data.len() as u64;
                    if self.max.is_some_and(|max| self.read > max) {
                        return Err(OssError::new(
                            400,
                            "EntityTooLarge",
                            "Your proposed upload exceeds the maximum allowed object size.",
                        ));
                    }
                    return Ok(Some(data));
                }
            }
        }
    }

    /// Reads and drops the rest of the body, up to `limit` bytes (then the connection closes).
    /// A client waiting for `100 Continue` that was never asked for its body is left alone.
    pub async fn drain(&mut self, limit: u64, expects_continue: bool) {
        if expects_continue && !self.polled {
            return;
        }
        self.max = None;
        let start = self.read;
        while self.read - start < limit {
            match self.chunk().await {
                Ok(Some(_)) => {}
                _ => break,
            }
        }
    }

    /// Reads the whole body into memory (for small XML/form bodies), refusing more than `max`.
    pub async fn collect(&mut self, max: usize) -> Result<Vec<u8>, OssError> {
        let mut out = Vec::new();
        while let Some(c) = self.chunk().await? {
            if out.len() + c.len() > max {
                return Err(OssError::new(
                    400,
                    "EntityTooLarge",
                    "Your proposed upload exceeds the maximum allowed object size.",
                ));
            }
            out.extend_from_slice(&c);
        }
        Ok(out)
    }
}

/// Sends at most `limit` bytes of `resp`'s body, then drops the connection.
pub(crate) fn cut_response(resp: Resp, limit: u64, cut: Arc<Notify>) -> Resp {
    use futures_util::StreamExt;
    let (parts, body) = resp.into_parts();
    let stream = body.into_data_stream();
    let limited =
        futures_util::stream::unfold((stream, 0u64, false), move |(mut stream, sent, done)| {
            let cut = cut.clone();
            async move {
                if done || sent >= limit {
                    // Give the connection a moment to flush what was sent, then drop it.
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    tracing::info!("fault: cutting the connection after {limit} response bytes");
                    cut.notify_one();
                    std::future::pending::<()>().await;
                }
                match stream.next().await {
                    Some(Ok(chunk)) => {
                        let room = (limit - sent) as usize;
                        if chunk.len() >= room {
                            Some((Ok(chunk.slice(..room)), (stream, limit, true)))
                        } else {
                            let n = chunk.len() as u64;
                            Some((Ok(chunk), (stream, sent + n, false)))
                        }
                    }
                    Some(Err(e)) => Some((Err(e), (stream, sent, true))),
                    None => None,
                }
            }
        });
    Resp::from_parts(parts, axum::body::Body::from_stream(limited))
}
