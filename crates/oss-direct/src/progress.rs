//! Upload progress: bytes and parts done, reported as they are sent, and taken back when an
//! attempt fails so the figure never runs ahead of what OSS has.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;

/// A progress report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Progress {
    /// Bytes sent (including parts uploaded by an earlier run of a resumed upload).
    pub bytes_done: u64,
    /// The file's size.
    pub bytes_total: u64,
    /// Parts confirmed by OSS (0 for a simple upload until it completes).
    pub parts_done: u32,
    /// Parts in all (1 for a simple upload).
    pub parts_total: u32,
}

/// Receives progress reports. Called from the upload's tasks: keep it quick.
pub type ProgressFn = Arc<dyn Fn(Progress) + Send + Sync>;

/// Counts what one upload has sent.
pub(crate) struct Tracker {
    bytes: AtomicU64,
    parts: AtomicU32,
    bytes_total: u64,
    parts_total: u32,
    callback: Option<ProgressFn>,
}

impl Tracker {
    pub(crate) fn new(
        bytes_total: u64,
        parts_total: u32,
        callback: Option<ProgressFn>,
    ) -> Arc<Self> {
        Arc::new(Self {
            bytes: AtomicU64::new(0),
            parts: AtomicU32::new(0),
            bytes_total,
            parts_total,
            callback,
        })
    }

    pub(crate) fn snapshot(&self) -> Progress {
        Progress {
            bytes_done: self.bytes.load(Ordering::Relaxed).min(self.bytes_total),
            bytes_total: self.bytes_total,
            parts_done: self.parts.load(Ordering::Relaxed),
            parts_total: self.parts_total,
        }
    }

    fn report(&self) {
        if let Some(cb) = &self.callback {
            cb(self.snapshot());
        }
    }

    /// Counts bytes already in OSS (parts of an earlier run) without sending them.
    pub(crate) fn add_done(&self, bytes: u64, parts: u32) {
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
        self.parts.fetch_add(parts, Ordering::Relaxed);
        self.report();
    }

    pub(crate) fn part_done(&self) {
        self.parts.fetch_add(1, Ordering::Relaxed);
        self.report();
    }
}

/// The bytes of one attempt, so a failed attempt's bytes can be taken back.
#[derive(Clone)]
pub(crate) struct AttemptCounter {
    sent: Arc<AtomicU64>,
    tracker: Option<Arc<Tracker>>,
}

impl AttemptCounter {
    pub(crate) fn new(tracker: Option<Arc<Tracker>>) -> Self {
        Self {
            sent: Arc::new(AtomicU64::new(0)),
            tracker,
        }
    }

    pub(crate) fn add(&self, n: u64) {
        self.sent.fetch_add(n, Ordering::Relaxed);
        if let Some(t) = &self.tracker {
            t.bytes.fetch_add(n, Ordering::Relaxed);
            t.report();
        }
    }

    pub(crate) fn rollback(&self) {
        let n = self.sent.swap(0, Ordering::Relaxed);
        if let Some(t) = &self.tracker {
            if n > 0 {
                t.bytes.fetch_sub(n, Ordering::Relaxed);
                t.report();
            }
        }
    }

    pub(crate) fn commit(&self) {
        self.sent.store(0, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn failed_attempts_are_taken_back() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        let t = Tracker::new(
            100,
            2,
            Some(Arc::new(move |p: Progress| {
                s.lock().unwrap().push(p.bytes_done)
            })),
        );
        let a = AttemptCounter::new(Some(t.clone()));
        a.add(30);
        a.add(20);
        a.rollback();
        assert_eq!(t.snapshot().bytes_done, 0);
        a.add(50);
        a.commit();
        a.rollback(); // nothing left to take back after a commit
        t.part_done();
        assert_eq!(
            t.snapshot(),
            Progress {
                bytes_done: 50,
                bytes_total: 100,
                parts_done: 1,
                parts_total: 2
            }
        );
        assert_eq!(*seen.lock().unwrap(), vec![30, 50, 0, 50, 50]);
    }
}
