//! System notifications for the upload queue (`tauri-plugin-notification`, desktop and mobile):
//! when a batch finishes, or a file needs the user (it failed), while the window is not in
//! front. Sent from Rust, so the webview needs no notification permission; on Android 13+ and
//! iOS the system's permission is asked for before the first one.

use tauri::{AppHandle, Manager, Runtime};
use tauri_plugin_notification::{NotificationExt, PermissionState};
use tauri_plugin_oss_direct::models::{QueueItem, QueueMessage};
use tauri_plugin_oss_direct::OssDirectExt;

/// What to tell the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// Every file of the batch is settled.
    BatchDone {
        /// Files stored in the batch.
        stored: usize,
        /// Files that failed in the batch.
        failed: usize,
    },
    /// A file failed and waits for the user (Retry).
    Failed {
        /// The file's name.
        name: String,
        /// Why, as the queue recorded it.
        reason: String,
    },
}

impl Notice {
    /// Title and body of the notification.
    pub fn text(&self) -> (String, String) {
        match self {
            Notice::BatchDone { stored, failed: 0 } => (
                "Uploads finished".into(),
                format!("{stored} {} stored in OSS.", files(*stored)),
            ),
            Notice::BatchDone { stored, failed } => (
                "Uploads finished, some need you".into(),
                format!(
                    "{stored} {} stored; {failed} failed: open the app to retry.",
                    files(*stored)
                ),
            ),
            Notice::Failed { name, reason } => (
                format!("{name} was not uploaded"),
                format!("{reason} Open the app to retry."),
            ),
        }
    }
}

fn files(n: usize) -> &'static str {
    if n == 1 {
        "file"
    } else {
        "files"
    }
}

/// Follows one batch of the queue: the files settled since the queue was last idle.
#[derive(Debug, Default)]
pub struct Batch {
    stored: usize,
    failed: usize,
}

impl Batch {
    /// A file changed state; `unsettled` is how many files the queue still works on (queued,
    /// preparing, uploading, waiting). What to tell the user, if anything.
    pub fn on_file(&mut self, file: &QueueItem, unsettled: usize) -> Option<Notice> {
        let notice = match file.state.as_str() {
            "done" => {
                self.stored += 1;
                None
            }
            "failed" => {
                self.failed += 1;
                Some(Notice::Failed {
                    name: file.name.clone(),
                    reason: file.reason.clone().unwrap_or_default(),
                })
            }
            _ => return None,
        };
        if unsettled > 0 {
            return notice;
        }
        let batch = Notice::BatchDone {
            stored: self.stored,
            failed: self.failed,
        };
        *self = Self::default();
        // A batch of one failed file: the failure says it all.
        match (&notice, &batch) {
            (Some(n), Notice::BatchDone { stored: 0, .. }) => Some(n.clone()),
            _ => Some(batch),
        }
    }
}

/// Watches the queue for the app's lifetime and notifies while the window is not focused.
pub fn watch<R: Runtime>(app: &AppHandle<R>) {
    let mut messages = app.oss_direct().subscribe_queue();
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let mut batch = Batch::default();
        loop {
            let file = match messages.recv().await {
                Ok(QueueMessage::File { file }) => file,
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            };
            let unsettled = app
                .oss_direct()
                .queue_summary()
                .map(|s| s.active + s.waiting)
                .unwrap_or(0);
            if let Some(notice) = batch.on_file(&file, unsettled) {
                if !in_front(&app) {
                    send(&app, &notice);
                }
            }
        }
    });
}

/// Whether the main window is in front (then the screen says it all).
fn in_front<R: Runtime>(app: &AppHandle<R>) -> bool {
    app.get_webview_window("main")
        .and_then(|w| w.is_focused().ok())
        .unwrap_or(false)
}

fn send<R: Runtime>(app: &AppHandle<R>, notice: &Notice) {
    let n = app.notification();
    if !matches!(n.permission_state(), Ok(PermissionState::Granted))
        && !matches!(n.request_permission(), Ok(PermissionState::Granted))
    {
        return;
    }
    let (title, body) = notice.text();
    if let Err(e) = n.builder().title(title).body(body).show() {
        tracing::info!(error = %e, "no notification");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tauri_plugin_oss_direct::models::QueueItem;

    fn item(name: &str, state: &str, reason: Option<&str>) -> QueueItem {
        QueueItem {
            id: 1,
            name: name.into(),
            key: String::new(),
            size: 0,
            state: oss_direct::queue::FileState::parse(state).unwrap(),
            reason: reason.map(str::to_string),
            bytes_done: 0,
            etag: None,
            crc64: None,
            note: None,
            added_at_ms: 0,
            updated_at_ms: 0,
            resumed_parts: 0,
            callback: None,
        }
    }

    #[test]
    fn a_batch_is_announced_once_when_it_ends_and_a_failure_at_once() {
        let mut b = Batch::default();
        assert_eq!(b.on_file(&item("a.jpg", "uploading", None), 3), None);
        assert_eq!(b.on_file(&item("a.jpg", "done", None), 2), None);
        let failed = b.on_file(&item("b.jpg", "failed", Some("AccessDenied.")), 1);
        assert_eq!(
            failed,
            Some(Notice::Failed {
                name: "b.jpg".into(),
                reason: "AccessDenied.".into()
            })
        );
        let end = b.on_file(&item("c.jpg", "done", None), 0).unwrap();
        assert_eq!(
            end,
            Notice::BatchDone {
                stored: 2,
                failed: 1
            }
        );
        assert!(end.text().1.contains("2 files stored; 1 failed"));
        // The next batch starts from nothing.
        let one = b.on_file(&item("d.jpg", "done", None), 0).unwrap();
        assert_eq!(one.text().1, "1 file stored in OSS.");
        // A batch of one failed file: one notice about it.
        let only = b
            .on_file(&item("e.jpg", "failed", Some("Gone.")), 0)
            .unwrap();
        assert!(matches!(only, Notice::Failed { .. }));
    }
}
