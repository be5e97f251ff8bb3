//! Part buffers reused from a small pool: one upload reads each part straight from the file into
//! a buffer it already has (one copy, no zeroing, no allocation per part), sends it as [`Bytes`]
//! without copying, and gets the buffer back once the last piece of that `Bytes` is dropped.
//! Keeping `concurrency` buffers of the part size holds the upload's memory at about
//! `concurrency × part size`, however large the file.

use bytes::Bytes;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Buffers of `buf_len` bytes, at most `keep` of them kept for reuse.
pub(crate) struct BufferPool {
    free: Mutex<Vec<Vec<u8>>>,
    buf_len: usize,
    keep: usize,
}

/// A pooled buffer's first `len` bytes; goes back to its pool when dropped.
struct Pooled {
    buf: Vec<u8>,
    len: usize,
    pool: Arc<BufferPool>,
}

impl AsRef<[u8]> for Pooled {
    fn as_ref(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        let buf = std::mem::take(&mut self.buf);
        let mut free = self.pool.free.lock().expect("pool lock");
        if free.len() < self.pool.keep {
            free.push(buf);
        }
    }
}

impl BufferPool {
    /// A pool of buffers of `buf_len` bytes (the part size), keeping at most `keep` (the number
    /// of parts in flight) for reuse.
    pub(crate) fn new(buf_len: usize, keep: usize) -> Arc<Self> {
        Arc::new(Self {
            free: Mutex::new(Vec::with_capacity(keep)),
            buf_len,
            keep: keep.max(1),
        })
    }

    /// A free buffer, or a new one (zeroed by the allocator, which for large sizes means fresh
    /// pages from the kernel rather than a pass over the bytes).
    fn take(&self) -> Vec<u8> {
        let reused = self.free.lock().expect("pool lock").pop();
        reused.unwrap_or_else(|| vec![0u8; self.buf_len])
    }

    /// Reads `len` bytes of `path` from `offset` into a pooled buffer, on a blocking thread
    /// (positioned read, straight into the buffer). A file shorter than `offset + len` gives an
    /// [`std::io::ErrorKind::UnexpectedEof`] error.
    pub(crate) async fn read_at(
        self: &Arc<Self>,
        path: &Path,
        offset: u64,
        len: usize,
    ) -> std::io::Result<Bytes> {
        let pool = self.clone();
        let path = path.to_path_buf();
        tokio::task::spawn_blocking(move || {
            pool.read_blocking(&std::fs::File::open(&path)?, offset, len)
        })
        .await
        .map_err(std::io::Error::other)?
    }

    /// [`Self::read_at`] on an open file, on the calling thread (which may block).
    pub(crate) fn read_blocking(
        self: &Arc<Self>,
        file: &std::fs::File,
        offset: u64,
        len: usize,
    ) -> std::io::Result<Bytes> {
        assert!(
            len <= self.buf_len,
            "a read is never larger than the buffers"
        );
        let mut buf = self.take();
        read_exact_at(file, &mut buf[..len], offset)?;
        Ok(Bytes::from_owner(Pooled {
            buf,
            len,
            pool: self.clone(),
        }))
    }

    /// `len` bytes of the file at `path` from `offset` as a stream of pieces of at most the
    /// buffer size, opened and read ahead by one blocking thread into this pool's buffers (a
    /// request body): one hand-over to the blocking pool per body, not one to open and one to
    /// read. A file that cannot be opened ends the stream with that error as its first item; one
    /// shorter than `offset + len` ends it with an `UnexpectedEof` error.
    pub(crate) fn stream_file(
        self: &Arc<Self>,
        path: std::path::PathBuf,
        offset: u64,
        len: u64,
    ) -> impl futures_util::Stream<Item = std::io::Result<Bytes>> + Send + Unpin + 'static {
        let (tx, mut rx) = tokio::sync::mpsc::channel(2);
        let pool = self.clone();
        tokio::task::spawn_blocking(move || {
            let file = match std::fs::File::open(&path) {
                Ok(f) => f,
                Err(e) => {
                    let _ = tx.blocking_send(Err(e));
                    return;
                }
            };
            let end = offset + len;
            let mut pos = offset;
            while pos < end {
                let n = (end - pos).min(pool.buf_len as u64) as usize;
                let piece = pool.read_blocking(&file, pos, n);
                let failed = piece.is_err();
                // A closed channel means the request was dropped: stop reading.
                if tx.blocking_send(piece).is_err() || failed {
                    break;
                }
                pos += n as u64;
            }
        });
        futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
    }

    #[cfg(test)]
    fn free_count(&self) -> usize {
        self.free.lock().expect("pool lock").len()
    }
}

#[cfg(unix)]
fn read_exact_at(file: &std::fs::File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

#[cfg(not(unix))]
fn read_exact_at(mut file: &std::fs::File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    use std::io::{Read, Seek};
    file.seek(std::io::SeekFrom::Start(offset))?;
    file.read_exact(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn buffers_come_back_and_are_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &data).unwrap();
        let pool = BufferPool::new(4096, 2);

        let a = pool.read_at(&path, 0, 4096).await.unwrap();
        let b = pool.read_at(&path, 4096, 4096).await.unwrap();
        let c = pool.read_at(&path, 8192, 1808).await.unwrap(); // the short last part
        assert_eq!(&a[..], &data[..4096]);
        assert_eq!(&b[..], &data[4096..8192]);
        assert_eq!(&c[..], &data[8192..]);
        let first_ptr = a.as_ptr();
        let piece = a.slice(100..200); // a piece keeps the buffer out of the pool
        drop(a);
        assert_eq!(pool.free_count(), 0);
        drop(piece);
        assert_eq!(pool.free_count(), 1);
        drop((b, c));
        assert_eq!(pool.free_count(), 2, "at most `keep` buffers are kept");

        // A reused buffer holds exactly the new part, nothing of the old one.
        let again = pool.read_at(&path, 8192, 1808).await.unwrap();
        assert_eq!(&again[..], &data[8192..]);
        let again2 = pool.read_at(&path, 0, 4096).await.unwrap();
        assert!([again.as_ptr(), again2.as_ptr()].contains(&first_ptr));
    }

    #[tokio::test]
    async fn a_file_streams_in_pieces_and_a_short_one_ends_in_an_error() {
        use futures_util::StreamExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &data).unwrap();
        let pool = BufferPool::new(4096, 2);
        let file = || path.clone();

        let pieces: Vec<Bytes> = pool
            .stream_file(file(), 0, 9_000)
            .map(|p| p.unwrap())
            .collect()
            .await;
        assert_eq!(
            pieces.iter().map(Bytes::len).collect::<Vec<_>>(),
            [4096, 4096, 808]
        );
        assert_eq!(pieces.concat(), &data[..9_000]);
        let from_offset: Vec<Bytes> = pool
            .stream_file(file(), 5_000, 5_000)
            .map(|p| p.unwrap())
            .collect()
            .await;
        assert_eq!(from_offset.concat(), &data[5_000..]);

        let got: Vec<_> = pool.stream_file(file(), 0, 12_000).collect().await;
        assert_eq!(got.len(), 3);
        let err = got.last().unwrap().as_ref().unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof);

        let missing: Vec<_> = pool
            .stream_file(dir.path().join("missing"), 0, 10)
            .collect()
            .await;
        assert_eq!(missing.len(), 1, "the open error, then the end");
        let err = missing[0].as_ref().unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    }

    #[tokio::test]
    async fn a_short_file_is_unexpected_eof() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"short").unwrap();
        let pool = BufferPool::new(64, 1);
        let err = pool.read_at(&path, 0, 64).await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof);
    }
}
