//! `oss-direct upload PATH... [--recursive] [--jobs N] [--json]`: files and folders in one
//! upload queue (`oss_direct::queue`), network loss ridden out, a re-run of the same command
//! skipping what is done and resuming what is not.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use oss_direct::queue::{FileId, FileState, Queue, QueueConfig, QueueEvent, QueuedFile, Summary};
use oss_direct::{Settings, UploadMode};
use sha2::{Digest, Sha256};
use std::io::IsTerminal;

use crate::connect::Connect;
use crate::exit::{self, CliError};
use crate::photo;

/// Upload files and folders (simple or resumable), several at once.
#[derive(Args)]
pub struct UploadArgs {
    /// Files, and folders with --recursive.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    #[command(flatten)]
    connect: Connect,
    /// Upload folders with everything below them, keyed `<prefix><folder>/<path below it>`.
    #[arg(short, long)]
    recursive: bool,
    /// Object name, for a single file (default: prefix + the file's name).
    #[arg(long)]
    key: Option<String>,
    /// Always use a resumable (multipart, checkpointed) upload.
    #[arg(long, conflicts_with = "simple")]
    resumable: bool,
    /// Always use one PutObject.
    #[arg(long)]
    simple: bool,
    /// Part size in bytes for resumable uploads.
    #[arg(long, default_value_t = oss_direct::resumable::DEFAULT_PART_SIZE)]
    part_size: u64,
    /// Parts in flight per file (requests in flight are capped at 5 in all).
    #[arg(long, default_value_t = oss_direct::resumable::DEFAULT_CONCURRENCY)]
    concurrency: usize,
    /// Files uploading at once.
    #[arg(short, long, default_value_t = 3)]
    jobs: usize,
    /// How long to wait for the network (or the app server) to come back before a file fails,
    /// e.g. 90s, 10m, 1h.
    #[arg(long, default_value = "10m", value_parser = parse_duration)]
    max_wait: Duration,
    /// Where resumable uploads keep their checkpoints.
    #[arg(long)]
    checkpoint_dir: Option<PathBuf>,
    /// Where the queue of this command is kept (default: the user's data folder); running the
    /// same command again finds it.
    #[arg(long)]
    state_dir: Option<PathBuf>,
    /// Print one JSON line per file and a summary line instead of a progress bar.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    photo: photo::PhotoArgs,
}

/// `90`, `90s`, `10m`, `1h`.
fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (n, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: u64 = n
        .parse()
        .map_err(|_| format!("{s:?} is not a duration like 90s, 10m or 1h"))?;
    let secs = match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        _ => return Err(format!("{s:?}: the unit must be s, m or h")),
    };
    Ok(Duration::from_secs(secs))
}

/// The files to upload with their object names: a file as `--key` or prefix + its name, a
/// folder's files as prefix + the folder's name + their path below it.
pub fn targets(
    paths: &[PathBuf],
    recursive: bool,
    key: Option<&str>,
    settings: &Settings,
) -> Result<Vec<(PathBuf, String)>, CliError> {
    if key.is_some() && (paths.len() != 1 || paths[0].is_dir()) {
        return Err(CliError::input(
            "--key names one file; leave it out for several",
        ));
    }
    let mut out = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path)
            .map_err(|e| CliError::input(format!("cannot read {}: {e}", path.display())))?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| CliError::input(format!("{} has no name", path.display())))?;
        if meta.is_dir() {
            if !recursive {
                return Err(CliError::input(format!(
                    "{} is a folder: add --recursive to upload what is in it",
                    path.display()
                )));
            }
            walk(
                path,
                &format!("{}{name}/", settings.object_prefix),
                &mut out,
            )?;
        } else {
            let key = key.map_or_else(|| settings.key_for(&name), str::to_string);
            out.push((path.clone(), key));
        }
    }
    for (_, key) in &out {
        settings.check_key(key)?;
    }
    Ok(out)
}

/// The files below `dir`, in name order, keyed `key_prefix` + their path below it.
fn walk(dir: &Path, key_prefix: &str, out: &mut Vec<(PathBuf, String)>) -> Result<(), CliError> {
    let read = |e: std::io::Error| CliError::input(format!("cannot read {}: {e}", dir.display()));
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(read)?
        .collect::<Result<_, _>>()
        .map_err(read)?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        let kind = entry.file_type().map_err(read)?;
        if kind.is_dir() {
            walk(&path, &format!("{key_prefix}{name}/"), out)?;
        } else if kind.is_file() || (kind.is_symlink() && path.is_file()) {
            out.push((path, format!("{key_prefix}{name}")));
        }
    }
    Ok(())
}

impl UploadArgs {
    pub async fn run(self) -> Result<(), CliError> {
        let (settings, conn) = self.connect.connect_patiently(self.max_wait).await?;
        let files = targets(&self.paths, self.recursive, self.key.as_deref(), &settings)?;
        let queue = Queue::open(
            conn.client.clone(),
            self.queue_config(&settings, &conn, &files)?,
        )?;
        for (path, key) in &files {
            queue.add(path, key)?;
        }
        let queue_for_signal = queue.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                let _ = queue_for_signal.pause_all();
            }
        });
        let mut printer = Printer::new(self.json, &queue);
        let events = queue.subscribe();
        let runner = tokio::spawn({
            let q = queue.clone();
            async move { q.run(true).await }
        });
        let summary = printer.follow(&queue, events, runner).await?;
        printer.finish(&queue, &summary)?;
        outcome(&queue)
    }

    fn queue_config(
        &self,
        settings: &Settings,
        conn: &oss_direct::Connection,
        files: &[(PathBuf, String)],
    ) -> Result<QueueConfig, CliError> {
        let dir = self
            .state_dir
            .clone()
            .or_else(|| {
                directories::ProjectDirs::from("com", "oss-direct", "oss-direct")
                    .map(|d| d.data_dir().join("cli-queues"))
            })
            .ok_or_else(|| {
                CliError::input("no data folder on this system: pass --state-dir DIR")
            })?;
        let mut c = QueueConfig::new(dir.join(format!("{}.sqlite", command_id(settings, files))));
        c.jobs = self.jobs.max(1);
        c.max_wait = Some(self.max_wait);
        c.upload.mode = if self.resumable {
            UploadMode::Resumable
        } else if self.simple {
            UploadMode::Simple
        } else {
            UploadMode::Auto
        };
        c.upload.part_size = self.part_size;
        c.upload.concurrency = self.concurrency;
        c.upload.checkpoint_dir = self.checkpoint_dir.clone();
        c.upload.callback = match conn.hints.callback.clone() {
            Some(cb) => Some(
                cb.validate()
                    .map(|()| cb)
                    .map_err(|e| CliError::input(e.to_string()))?,
            ),
            None => None,
        };
        c.prepare = self.photo.queue_options()?;
        Ok(c)
    }
}

/// Which queue a command uses: the same targets in the same bucket are the same queue, so a
/// re-run finds what the last run did.
fn command_id(settings: &Settings, files: &[(PathBuf, String)]) -> String {
    let mut h = Sha256::new();
    for part in [&settings.server_url, &settings.bucket, &settings.endpoint] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    for (path, key) in files {
        h.update(
            std::path::absolute(path)
                .unwrap_or_else(|_| path.clone())
                .to_string_lossy()
                .as_bytes(),
        );
        h.update([0]);
        h.update(key.as_bytes());
        h.update([0]);
    }
    hex::encode(&h.finalize()[..12])
}

/// The exit status: 0 only when every file is stored.
fn outcome(queue: &Queue) -> Result<(), CliError> {
    let files = queue.files()?;
    let not_stored: Vec<&QueuedFile> = files
        .iter()
        .filter(|f| f.state != FileState::Done)
        .collect();
    let Some(first) = not_stored.first() else {
        return Ok(());
    };
    if not_stored.iter().all(|f| f.state == FileState::Paused) {
        return Err(CliError::new(
            exit::INTERRUPTED,
            "paused: run the same command again to resume",
        ));
    }
    let code = match (files.len(), queue.result(first.id).and_then(|r| r.error)) {
        (1, Some(kind)) => exit::code_for(kind, None, false),
        _ => exit::PARTIAL,
    };
    let why = format!(
        "{}: {}",
        first.source.display(),
        first.reason.as_deref().unwrap_or(first.state.as_str())
    );
    let message = match files.len() {
        1 => why,
        n => format!(
            "{} of {n} files not stored; the first: {why}",
            not_stored.len()
        ),
    };
    Err(CliError::new(code, message))
}

/// Prints each file as it settles (a JSON line, or a line of text under a progress bar).
struct Printer {
    json: bool,
    files: usize,
    /// Files a previous run of the same command stored.
    already: HashSet<FileId>,
    printed: HashSet<FileId>,
    started: Instant,
    bar: Option<ProgressBar>,
}

impl Printer {
    fn new(json: bool, queue: &Queue) -> Self {
        let total = queue.summary().map(|s| s.bytes_total).unwrap_or(0);
        let bar = (!json && std::io::stderr().is_terminal()).then(|| {
            let b = ProgressBar::new(total);
            b.set_style(
                ProgressStyle::with_template(
                    "{bar:40} {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta} {msg}",
                )
                .expect("a valid template"),
            );
            b
        });
        Self {
            json,
            files: queue.files().map(|f| f.len()).unwrap_or(0),
            already: queue
                .files()
                .unwrap_or_default()
                .iter()
                .filter(|f| f.state == FileState::Done)
                .map(|f| f.id)
                .collect(),
            printed: HashSet::new(),
            started: Instant::now(),
            bar,
        }
    }

    /// Prints files as they settle until the queue is idle; the final summary.
    async fn follow(
        &mut self,
        queue: &Queue,
        mut events: tokio::sync::broadcast::Receiver<QueueEvent>,
        mut runner: tokio::task::JoinHandle<oss_direct::Result<Summary>>,
    ) -> Result<Summary, CliError> {
        let mut tick = tokio::time::interval(Duration::from_millis(200));
        loop {
            tokio::select! {
                done = &mut runner => {
                    return done
                        .map_err(|e| CliError::new(exit::UNEXPECTED, e.to_string()))?
                        .map_err(CliError::from);
                }
                event = events.recv() => {
                    if let Ok(QueueEvent::File { file }) = event {
                        self.settled(queue, &file);
                    }
                }
                _ = tick.tick() => self.tick(queue),
            }
        }
    }

    fn tick(&self, queue: &Queue) {
        if let (Some(bar), Ok(s)) = (&self.bar, queue.summary()) {
            bar.set_position(s.bytes_done);
            let msg = match s.waiting {
                0 => format!("{}/{} files", s.done, s.files),
                n => format!("{}/{} files, {n} waiting for the network", s.done, s.files),
            };
            bar.set_message(msg);
        }
    }

    fn settled(&mut self, queue: &Queue, file: &QueuedFile) {
        if !matches!(file.state, FileState::Done | FileState::Failed)
            || !self.printed.insert(file.id)
        {
            return;
        }
        // A lone file's failure is the command's one-line error.
        let lone_failure = file.state == FileState::Failed && self.files == 1;
        if lone_failure && !self.json {
            return;
        }
        let line = self.describe(queue, file);
        match &self.bar {
            Some(bar) => bar.println(line),
            None if self.json || file.state == FileState::Done => println!("{line}"),
            None => eprintln!("{line}"),
        }
    }

    /// Everything not printed yet (an event may have been missed), then the summary.
    fn finish(&mut self, queue: &Queue, summary: &Summary) -> Result<(), CliError> {
        for f in queue.files()? {
            self.settled(queue, &f);
        }
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        let seconds = self.started.elapsed().as_secs_f64();
        if self.json {
            let line = serde_json::json!({"summary": {
                "files": summary.files, "done": summary.done, "failed": summary.failed,
                "paused": summary.paused, "bytes": summary.bytes_done, "seconds": seconds,
            }});
            println!("{line}");
        } else if summary.files > 1 {
            eprintln!(
                "{} of {} files stored ({} bytes in {seconds:.2} s){}",
                summary.done,
                summary.files,
                summary.bytes_done,
                if summary.failed > 0 {
                    format!(", {} failed", summary.failed)
                } else {
                    String::new()
                }
            );
        }
        Ok(())
    }

    fn describe(&self, queue: &Queue, f: &QueuedFile) -> String {
        let result = queue.result(f.id).unwrap_or_default();
        let seconds = self.started.elapsed().as_secs_f64();
        let already = self.already.contains(&f.id);
        if self.json {
            let mut line = json_line(f, &result, seconds);
            line["already_stored"] = already.into();
            return line.to_string();
        }
        if already {
            return format!(
                "already stored {} (ETag {})",
                f.key,
                f.etag.as_deref().unwrap_or("")
            );
        }
        if f.state == FileState::Failed {
            return format!(
                "failed {}: {}",
                f.key,
                f.reason.as_deref().unwrap_or("unknown")
            );
        }
        let mut notes = Vec::new();
        if let Some(p) = &result.prepared {
            notes.push(format!("photo: {}", p.summary()));
        }
        if let Some(up) = &result.upload {
            if up.upload.resumed_parts > 0 {
                notes.push(format!(
                    "resumed with {} parts already there",
                    up.upload.resumed_parts
                ));
            }
            if let Some(why) = &up.restarted {
                notes.push(format!("started over because {why}"));
            }
            match &up.upload.callback {
                Some(oss_direct::CallbackOutcome::Failed { message }) => notes.push(format!(
                    "warning: stored, but the app server was not told (CallbackFailed: {message})"
                )),
                Some(oss_direct::CallbackOutcome::Answered { .. }) => {
                    notes.push("the app server was told".into())
                }
                None => {}
            }
        }
        format!(
            "uploaded {} ({} bytes), ETag {}, CRC-64 {} verified{}",
            f.key,
            f.bytes_done,
            f.etag.as_deref().unwrap_or(""),
            f.crc64.unwrap_or(0),
            notes.iter().map(|n| format!("; {n}")).collect::<String>()
        )
    }
}

/// One file's JSON line.
fn json_line(f: &QueuedFile, r: &oss_direct::queue::FileResult, seconds: f64) -> serde_json::Value {
    let up = r.upload.as_ref();
    serde_json::json!({
        "source": f.source, "key": f.key, "state": f.state.as_str(),
        "etag": f.etag, "crc64": f.crc64.map(|c| c.to_string()), "bytes": f.bytes_done,
        "seconds": seconds,
        "resumed_parts": up.map(|u| u.upload.resumed_parts),
        "uploaded_parts": up.map(|u| u.upload.uploaded_parts),
        "restarted": up.and_then(|u| u.restarted.clone()),
        "callback": up.and_then(|u| u.upload.callback.clone()),
        "prepared": r.prepared.as_ref().map(photo::report_json),
        "error": f.reason.as_deref().filter(|_| f.state == FileState::Failed),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("90").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("10m").unwrap(), Duration::from_secs(600));
        assert_eq!(parse_duration("1h").unwrap(), Duration::from_secs(3600));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("5d").is_err());
    }

    #[test]
    fn folders_keep_their_paths_below_the_folders_parent() {
        let dir = tempfile::tempdir().unwrap();
        let album = dir.path().join("album");
        std::fs::create_dir_all(album.join("sub")).unwrap();
        std::fs::write(album.join("a.jpg"), b"a").unwrap();
        std::fs::write(album.join("sub").join("v1.bin"), b"v").unwrap();
        let single = dir.path().join("one.jpg");
        std::fs::write(&single, b"1").unwrap();
        let settings = Settings {
            object_prefix: "uploads/".into(),
            ..Default::default()
        };
        let t = targets(&[album.clone(), single.clone()], true, None, &settings).unwrap();
        let keys: Vec<&str> = t.iter().map(|(_, k)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "uploads/album/a.jpg",
                "uploads/album/sub/v1.bin",
                "uploads/one.jpg"
            ]
        );
        let e = targets(std::slice::from_ref(&album), false, None, &settings).unwrap_err();
        assert!(e.message.contains("--recursive"), "{}", e.message);
        assert!(targets(&[single.clone(), single], false, Some("k"), &settings).is_err());
    }
}
