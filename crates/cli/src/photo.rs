//! `upload --strip-metadata / --max-edge N / --quality Q`: the photo prepared on this machine
//! before upload (`oss_direct::prepare`). Off by default: without these flags the file's bytes
//! are uploaded as they are.

use crate::exit::CliError;
use clap::Args;
use oss_direct::prepare::{default_cache_dir, PrepareOptions, PrepareReport};
use std::path::PathBuf;

/// The photo flags of `upload`.
#[derive(Args, Clone, Debug, Default)]
pub(crate) struct PhotoArgs {
    /// Remove EXIF (GPS location, camera data), XMP, IPTC and PNG text from a JPEG, PNG or WebP
    /// and apply its orientation; the pixels are untouched unless it is stored sideways.
    #[arg(long)]
    strip_metadata: bool,
    /// Scale a JPEG, PNG or WebP down so its long edge is at most N pixels (re-encodes it).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    max_edge: Option<u32>,
    /// JPEG quality (1-100) when the photo is re-encoded; alone, re-encodes at this quality.
    #[arg(long, value_name = "Q", value_parser = clap::value_parser!(u8).range(1..=100))]
    quality: Option<u8>,
    /// Where the prepared copy waits until its upload is done (default: the user's cache
    /// folder, e.g. ~/.cache/oss-direct/prepared). Running the same command again after an
    /// interruption finds the same copy, so a resumable upload resumes.
    #[arg(long, value_name = "DIR")]
    prepared_dir: Option<PathBuf>,
}

impl PhotoArgs {
    fn options(&self) -> PrepareOptions {
        PrepareOptions {
            strip_metadata: self.strip_metadata,
            max_edge: self.max_edge,
            quality: self.quality,
            ..Default::default()
        }
    }

    /// The queue's preparation step when a photo flag was given; `None` without photo flags.
    pub(crate) fn queue_options(&self) -> Result<Option<(PrepareOptions, PathBuf)>, CliError> {
        let options = self.options();
        if options.is_noop() {
            return Ok(None);
        }
        let dir = self
            .prepared_dir
            .clone()
            .or_else(default_cache_dir)
            .ok_or_else(|| {
                CliError::input("no cache folder on this system: pass --prepared-dir DIR")
            })?;
        Ok(Some((options, dir)))
    }
}

/// The `prepared` object of the JSON line: sizes before and after, what was removed.
pub(crate) fn report_json(r: &PrepareReport) -> serde_json::Value {
    serde_json::json!({
        "original_bytes": r.original_bytes,
        "prepared_bytes": r.prepared_bytes,
        "format": r.format.map(|f| f.name()),
        "passed_through": r.passed_through,
        "original_dimensions": r.original_dimensions,
        "prepared_dimensions": r.prepared_dimensions,
        "removed": r.removed.names(),
        "orientation_applied": r.orientation_applied,
        "reencoded": r.reencoded,
        "summary": r.summary(),
    })
}
