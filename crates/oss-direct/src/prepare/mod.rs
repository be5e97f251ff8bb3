//! Photos prepared on the device before upload (SPEC section 10): the EXIF orientation applied
//! to the pixels, metadata removed (EXIF with GPS, XMP, IPTC, PNG text), the long edge scaled
//! down to at most N pixels and re-encoded at a quality Q — each only when asked.
//!
//! - **Strip only** (JPEG, PNG, WebP): metadata segments/chunks are dropped from the file and
//!   everything else is copied byte for byte, so the pixels are bit-identical. The exception is
//!   a photo stored sideways (EXIF Orientation 2–8): removing the tag would show it sideways, so
//!   that photo is decoded, turned upright and re-encoded.
//! - **Resize or quality**: decoded within [`PrepareLimits`], downscaled with SIMD
//!   (`fast_image_resize`, Lanczos3), turned upright, re-encoded in the same format (JPEG at
//!   quality Q; PNG and WebP lossless). The ICC colour profile is always kept. Without strip,
//!   the EXIF block is carried over with its orientation reset to 1.
//! - **Anything else** (HEIC, RAW, video, unknown) passes through unchanged
//!   ([`PrepareReport::passed_through`] says why), and so does a photo that needs no change.
//!
//! A malformed or truncated image, or one over the limits, is an [`ErrorKind::Image`] error
//! for that file; the original is only ever read.
//!
//! ```no_run
//! use oss_direct::prepare::{prepare_file, PrepareOptions};
//! # fn run() -> oss_direct::Result<()> {
//! let options = PrepareOptions { strip_metadata: true, max_edge: Some(2048), ..Default::default() };
//! let prepared = prepare_file("IMG_0001.jpg".as_ref(), "/tmp/app-cache/prepared".as_ref(), &options)?;
//! println!("{}", prepared.report.summary()); // "4.2 MB → 1.1 MB, location removed"
//! // upload prepared.path; when the upload is done:
//! prepared.remove()?;
//! # Ok(()) }
//! ```

mod jpeg;
mod pixels;
mod png;
mod webp;

use crate::{Error, ErrorKind, Result};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};

const OPERATION: &str = "PreparePhoto";

/// JPEG quality used when a photo is re-encoded and no quality was asked for.
pub const DEFAULT_QUALITY: u8 = 85;

/// What to do to a photo. The default does nothing (a file tool uploads bytes as they are);
/// the app turns `strip_metadata` on for photos.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PrepareOptions {
    /// Remove EXIF (GPS location, camera, dates), XMP, IPTC, comments and PNG text; apply the
    /// orientation to the pixels.
    pub strip_metadata: bool,
    /// Scale down so the long edge is at most this many pixels (never up).
    pub max_edge: Option<u32>,
    /// JPEG quality (1–100) for a re-encoded photo; given alone, it re-encodes at this quality.
    /// Default when re-encoding: [`DEFAULT_QUALITY`].
    pub quality: Option<u8>,
    /// Bounds on what is decoded.
    pub limits: PrepareLimits,
}

impl PrepareOptions {
    /// Whether these options can change anything at all.
    pub fn is_noop(&self) -> bool {
        !self.strip_metadata && self.max_edge.is_none() && self.quality.is_none()
    }
}

/// Bounds on decoding, so a crafted image is an error, never a runaway allocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrepareLimits {
    /// Largest file read into memory (default 64 MiB).
    pub max_input_bytes: u64,
    /// Largest width (default 20,000 px).
    pub max_width: u32,
    /// Largest height (default 20,000 px).
    pub max_height: u32,
    /// Most pixels (default 120 megapixels).
    pub max_pixels: u64,
    /// Most bytes the decoder may allocate at once (default 512 MiB, `image::Limits::max_alloc`).
    pub max_alloc_bytes: u64,
}

impl Default for PrepareLimits {
    fn default() -> Self {
        Self {
            max_input_bytes: 64 << 20,
            max_width: 20_000,
            max_height: 20_000,
            max_pixels: 120_000_000,
            max_alloc_bytes: 512 << 20,
        }
    }
}

/// The formats that are decoded here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PhotoFormat {
    /// JPEG.
    Jpeg,
    /// PNG.
    Png,
    /// WebP.
    WebP,
}

impl PhotoFormat {
    /// `"JPEG"`, `"PNG"`, `"WebP"`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Jpeg => "JPEG",
            Self::Png => "PNG",
            Self::WebP => "WebP",
        }
    }

    fn image_format(self) -> image::ImageFormat {
        match self {
            Self::Jpeg => image::ImageFormat::Jpeg,
            Self::Png => image::ImageFormat::Png,
            Self::WebP => image::ImageFormat::WebP,
        }
    }

    /// The format of `data` from its first bytes, or `None` when it is none of these.
    pub fn sniff(data: &[u8]) -> Option<Self> {
        if data.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(Self::Jpeg)
        } else if data.starts_with(png::SIGNATURE) {
            Some(Self::Png)
        } else if webp::is_webp(data) {
            Some(Self::WebP)
        } else {
            None
        }
    }
}

/// What was removed from a photo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Removed {
    /// GPS position (EXIF GPS fields).
    pub location: bool,
    /// Camera and capture data: the rest of EXIF (make, model, serial numbers, lens, dates,
    /// settings, thumbnail).
    pub camera: bool,
    /// XMP (edit history, often a location too).
    pub xmp: bool,
    /// IPTC (captions, keywords, creator, place).
    pub iptc: bool,
    /// Comments and PNG text chunks.
    pub text: bool,
    /// Other application segments and private chunks, and data after the end of the image
    /// (extra pictures of a multi-picture JPEG, motion-photo video).
    pub other: bool,
}

impl Removed {
    /// Whether anything was removed.
    pub fn any(&self) -> bool {
        self.location || self.camera || self.xmp || self.iptc || self.text || self.other
    }

    /// Short phrases for a user: `["location", "camera data", ...]`.
    pub fn names(&self) -> Vec<&'static str> {
        [
            (self.location, "location"),
            (self.camera, "camera data"),
            (self.xmp, "XMP"),
            (self.iptc, "IPTC"),
            (self.text, "text"),
            (self.other, "other metadata"),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect()
    }
}

/// What preparing one photo did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrepareReport {
    /// The decoded format, `None` when the file was passed through as an unknown format.
    pub format: Option<PhotoFormat>,
    /// Why the file is uploaded unchanged without being read as a photo (e.g. `"HEIC cannot
    /// be decoded here"`), `None` when it was examined.
    pub passed_through: Option<String>,
    /// Size of the original, bytes.
    pub original_bytes: u64,
    /// Size of what is uploaded, bytes.
    pub prepared_bytes: u64,
    /// Width and height of the original as stored (before the orientation), when known.
    pub original_dimensions: Option<(u32, u32)>,
    /// Width and height of what is uploaded, upright, when known.
    pub prepared_dimensions: Option<(u32, u32)>,
    /// What metadata was removed.
    pub removed: Removed,
    /// The EXIF orientation (2–8) applied to the pixels, if any.
    pub orientation_applied: Option<u8>,
    /// Whether the pixels were decoded and encoded again (false: bit-identical pixels).
    pub reencoded: bool,
    /// Whether the uploaded bytes differ from the original.
    pub changed: bool,
}

impl PrepareReport {
    /// One line for a user, e.g. `4.2 MB → 1.1 MB, location removed`, or `uploaded unchanged
    /// (HEIC cannot be decoded here)`.
    pub fn summary(&self) -> String {
        if let Some(why) = &self.passed_through {
            return format!("uploaded unchanged ({why})");
        }
        if !self.changed {
            return "uploaded unchanged (nothing to change)".into();
        }
        let mut s = format!(
            "{} → {}",
            human_bytes(self.original_bytes),
            human_bytes(self.prepared_bytes)
        );
        if let (Some(a), Some(b)) = (self.original_dimensions, self.prepared_dimensions) {
            if a != b && a != (b.1, b.0) {
                s += &format!(", {}×{} px", b.0, b.1);
            }
        }
        let names = self.removed.names();
        if !names.is_empty() {
            s += &format!(", {} removed", names.join(", "));
        }
        if self.orientation_applied.is_some() {
            s += ", turned upright";
        }
        s
    }

    fn unchanged(len: u64, format: Option<PhotoFormat>, why: Option<String>) -> Self {
        Self {
            format,
            passed_through: why,
            original_bytes: len,
            prepared_bytes: len,
            original_dimensions: None,
            prepared_dimensions: None,
            removed: Removed::default(),
            orientation_applied: None,
            reencoded: false,
            changed: false,
        }
    }
}

/// `4.2 MB` (decimal units, as phones show sizes).
pub fn human_bytes(n: u64) -> String {
    match n {
        0..1_000 => format!("{n} B"),
        1_000..1_000_000 => format!("{:.0} kB", n as f64 / 1e3),
        _ => format!("{:.1} MB", n as f64 / 1e6),
    }
}

/// The result of [`prepare_bytes`].
#[derive(Debug, Clone)]
pub struct PreparedBytes {
    /// The prepared bytes, `None` when the original is uploaded as it is.
    pub data: Option<Vec<u8>>,
    /// What was done.
    pub report: PrepareReport,
}

/// A prepared file, the result of [`prepare_file`].
#[derive(Debug, Clone)]
pub struct Prepared {
    /// What to upload: a file in the cache folder, or the original itself when nothing changed.
    pub path: PathBuf,
    /// Whether `path` is a copy in the cache folder (to be removed when the upload is done).
    pub is_copy: bool,
    /// What was done.
    pub report: PrepareReport,
}

impl Prepared {
    /// Removes the prepared copy (never the original). Call it when the upload is done.
    pub fn remove(&self) -> Result<()> {
        if !self.is_copy {
            return Ok(());
        }
        match std::fs::remove_file(&self.path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(Error::io(OPERATION, "cannot remove the prepared copy", e))
            }
            _ => Ok(()),
        }
    }
}

/// What the container walk found, before the report is made.
#[derive(Debug, Default, Clone, Copy)]
struct Found {
    exif: bool,
    xmp: bool,
    iptc: bool,
    text: bool,
    other: bool,
}

/// A walked container: the stripped bytes, the raw EXIF (TIFF) block, what was found.
struct Container<'a> {
    stripped: Vec<u8>,
    exif: Option<&'a [u8]>,
    found: Found,
}

fn container_error(format: &str, what: &str) -> Error {
    Error::new(
        ErrorKind::Image,
        OPERATION,
        format!("this {format} cannot be prepared: {what}"),
    )
}

fn image_error(format: PhotoFormat, e: image::ImageError) -> Error {
    let what = match &e {
        image::ImageError::Limits(_) => "it is over the size limits for preparing photos".into(),
        other => other.to_string(),
    };
    container_error(format.name(), &what).with_source(e)
}

/// What the EXIF block says that matters here.
#[derive(Debug, Default, Clone, Copy)]
struct ExifInfo {
    orientation: u8,
    location: bool,
    camera: bool,
}

fn exif_info(tiff: Option<&[u8]>) -> ExifInfo {
    let mut info = ExifInfo {
        orientation: 1,
        ..Default::default()
    };
    let Some(tiff) = tiff else { return info };
    // Orientation as image-rs reads it (it is what the decoder would apply).
    if let Some(o) = image::metadata::Orientation::from_exif_chunk(tiff) {
        info.orientation = o.to_exif();
    }
    match exif::Reader::new().read_raw(tiff.to_vec()) {
        Ok(e) => {
            for f in e.fields() {
                if f.tag.context() == exif::Context::Gps || f.tag == exif::Tag::GPSInfoIFDPointer {
                    info.location = true;
                } else if f.tag != exif::Tag::Orientation {
                    info.camera = true;
                }
            }
        }
        // Unreadable EXIF is still EXIF: it may hold anything, including a position.
        Err(_) => {
            info.location = true;
            info.camera = true;
        }
    }
    info
}

fn removed_from(found: Found, exif: ExifInfo, keep_exif: bool) -> Removed {
    let exif_gone = found.exif && !keep_exif;
    Removed {
        location: exif_gone && exif.location,
        camera: exif_gone && exif.camera,
        xmp: found.xmp,
        iptc: found.iptc,
        text: found.text,
        other: found.other,
    }
}

/// Prepares a photo held in memory. Unknown formats (and options that change nothing) give
/// `data: None`. Errors are [`ErrorKind::Image`] for a malformed, truncated or oversized image.
pub fn prepare_bytes(data: &[u8], options: &PrepareOptions) -> Result<PreparedBytes> {
    let len = data.len() as u64;
    let Some(format) = PhotoFormat::sniff(data) else {
        let why = format!("{} cannot be decoded here", unsupported_name(data));
        return Ok(PreparedBytes {
            data: None,
            report: PrepareReport::unchanged(len, None, Some(why)),
        });
    };
    if options.is_noop() {
        return Ok(PreparedBytes {
            data: None,
            report: PrepareReport::unchanged(len, Some(format), None),
        });
    }
    if len > options.limits.max_input_bytes {
        return Err(container_error(
            format.name(),
            &format!("it is larger than {} bytes", options.limits.max_input_bytes),
        ));
    }
    let container = match format {
        PhotoFormat::Jpeg => jpeg::walk(data)?,
        PhotoFormat::Png => png::walk(data)?,
        PhotoFormat::WebP => webp::walk(data)?,
    };
    let (w, h) = pixels::dimensions(data, format, &options.limits)?;
    let exif = exif_info(container.exif);
    let resize = options.max_edge.is_some_and(|m| w.max(h) > m);
    let sideways = exif.orientation != 1;
    let reencode = resize || options.quality.is_some() || (options.strip_metadata && sideways);
    let mut report = PrepareReport::unchanged(len, Some(format), None);
    report.original_dimensions = Some((w, h));
    report.prepared_dimensions = Some((w, h));
    if !reencode {
        // Strip only (or nothing to do): the container without its metadata, pixels untouched.
        if !options.strip_metadata || container.stripped == data {
            return Ok(PreparedBytes { data: None, report });
        }
        report.removed = removed_from(container.found, exif, false);
        report.prepared_bytes = container.stripped.len() as u64;
        report.changed = true;
        return Ok(PreparedBytes {
            data: Some(container.stripped),
            report,
        });
    }
    let out = reencode_pixels(data, format, options, &exif, &mut report)?;
    report.removed = removed_from(container.found, exif, !options.strip_metadata);
    report.prepared_bytes = out.len() as u64;
    report.reencoded = true;
    report.changed = true;
    Ok(PreparedBytes {
        data: Some(out),
        report,
    })
}

/// The pixel path: decode, downscale, turn upright, encode.
fn reencode_pixels(
    data: &[u8],
    format: PhotoFormat,
    options: &PrepareOptions,
    exif: &ExifInfo,
    report: &mut PrepareReport,
) -> Result<Vec<u8>> {
    let decoded = pixels::decode(data, format, &options.limits)?;
    let mut img = match options.max_edge {
        Some(m) => pixels::downscale(decoded.image, m)?,
        None => decoded.image,
    };
    if exif.orientation != 1 {
        pixels::orient(&mut img, exif.orientation);
        report.orientation_applied = Some(exif.orientation);
    }
    report.prepared_dimensions = Some((img.width(), img.height()));
    // Without strip the EXIF block goes along, its orientation now 1 (the pixels are upright).
    let keep_exif = (!options.strip_metadata)
        .then_some(decoded.exif)
        .flatten()
        .map(|mut e| {
            let _ = image::metadata::Orientation::remove_from_exif_chunk(&mut e);
            e
        });
    let quality = options.quality.unwrap_or(DEFAULT_QUALITY).clamp(1, 100);
    pixels::encode(img, format, quality, decoded.icc, keep_exif)
}

/// A name for a format that is not decoded here, from its first bytes.
fn unsupported_name(data: &[u8]) -> &'static str {
    let brand = data.get(8..12).filter(|_| data.get(4..8) == Some(b"ftyp"));
    match brand {
        Some(b"heic" | b"heix" | b"heim" | b"heis" | b"hevc" | b"hevx" | b"mif1" | b"msf1") => {
            "HEIC"
        }
        Some(b"avif" | b"avis") => "AVIF",
        Some(_) => "a video or ISO media file",
        None if data.starts_with(b"II*\0") || data.starts_with(b"MM\0*") => "TIFF/RAW",
        None if data.starts_with(b"GIF8") => "GIF",
        None => "this format",
    }
}

/// The platform's cache folder for prepared photos (e.g. `~/.cache/oss-direct/prepared`), for
/// tools without a cache folder of their own; an app passes its own (Tauri's cache dir).
pub fn default_cache_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("com", "oss-direct", "oss-direct")
        .map(|d| d.cache_dir().join("prepared"))
}

/// Prepares the photo at `source` into `cache_dir` (created if missing) and says what to
/// upload. The original is only read. The prepared copy is named after the source's name and a
/// hash of its bytes and the options, so preparing the same file again (after a restart) finds
/// the same file and keeps its modification time, and a resumable upload of it resumes.
/// Nothing is written when the original is uploaded unchanged (`is_copy` false).
///
/// CPU-bound and blocking (a 12-megapixel JPEG takes a fraction of a second): call it from
/// `tokio::task::spawn_blocking` in async code.
pub fn prepare_file(source: &Path, cache_dir: &Path, options: &PrepareOptions) -> Result<Prepared> {
    let what = || format!("cannot read {}", source.display());
    let mut file = std::fs::File::open(source).map_err(|e| Error::io(OPERATION, &what(), e))?;
    let len = file
        .metadata()
        .map_err(|e| Error::io(OPERATION, &what(), e))?
        .len();
    let unchanged = |report| Prepared {
        path: source.to_path_buf(),
        is_copy: false,
        report,
    };
    // The first bytes say whether this is a photo at all; a video is never read whole.
    let mut head = [0u8; 16];
    let n = read_up_to(&mut file, &mut head).map_err(|e| Error::io(OPERATION, &what(), e))?;
    if options.is_noop() || PhotoFormat::sniff(&head[..n]).is_none() {
        let mut r = prepare_bytes(&head[..n], &PrepareOptions::default())?.report;
        (r.original_bytes, r.prepared_bytes) = (len, len);
        return Ok(unchanged(r));
    }
    if len > options.limits.max_input_bytes {
        let f = PhotoFormat::sniff(&head[..n]).map_or("image", PhotoFormat::name);
        let msg = format!("it is larger than {} bytes", options.limits.max_input_bytes);
        return Err(container_error(f, &msg));
    }
    let mut data = head[..n].to_vec();
    file.read_to_end(&mut data)
        .map_err(|e| Error::io(OPERATION, &what(), e))?;
    let prepared = prepare_bytes(&data, options)?;
    let Some(out) = prepared.data else {
        return Ok(unchanged(prepared.report));
    };
    let path = cache_dir.join(cache_name(source, &data, options));
    write_once(cache_dir, &path, &out)?;
    Ok(Prepared {
        path,
        is_copy: true,
        report: prepared.report,
    })
}

fn read_up_to(file: &mut std::fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// `<stem>.<16 hex digits of SHA-256(options, bytes)>.<ext>`.
fn cache_name(source: &Path, data: &[u8], options: &PrepareOptions) -> String {
    let mut h = Sha256::new();
    h.update(
        format!(
            "v1 strip={} edge={:?} q={:?}\n",
            options.strip_metadata, options.max_edge, options.quality
        )
        .as_bytes(),
    );
    h.update(data);
    let digest = hex::encode(&h.finalize()[..8]);
    let stem = source
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "photo".into());
    let ext = source
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    format!("{stem}.{digest}{ext}")
}

/// Writes `bytes` to `path` atomically, unless the same bytes are already there (then the file,
/// and its modification time, stay as they are).
fn write_once(dir: &Path, path: &Path, bytes: &[u8]) -> Result<()> {
    if std::fs::read(path).is_ok_and(|old| old == bytes) {
        return Ok(());
    }
    let io = |what: &str, e| Error::io(OPERATION, what, e);
    std::fs::create_dir_all(dir).map_err(|e| io("cannot create the cache folder", e))?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .map_err(|e| io("cannot write in the cache folder", e))?;
    std::io::Write::write_all(&mut tmp, bytes)
        .map_err(|e| io("cannot write the prepared copy", e))?;
    tmp.persist(path)
        .map_err(|e| io("cannot write the prepared copy", e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_reads_like_the_app_shows_it() {
        let mut r = PrepareReport::unchanged(4_200_000, Some(PhotoFormat::Jpeg), None);
        r.prepared_bytes = 1_100_000;
        r.changed = true;
        r.removed.location = true;
        assert_eq!(r.summary(), "4.2 MB → 1.1 MB, location removed");
        let r = PrepareReport::unchanged(9, None, Some("HEIC cannot be decoded here".into()));
        assert_eq!(
            r.summary(),
            "uploaded unchanged (HEIC cannot be decoded here)"
        );
    }

    #[test]
    fn unknown_formats_pass_through() {
        let heic = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic";
        let o = PrepareOptions {
            strip_metadata: true,
            ..Default::default()
        };
        let p = prepare_bytes(heic, &o).unwrap();
        assert!(p.data.is_none());
        assert_eq!(
            p.report.passed_through.as_deref(),
            Some("HEIC cannot be decoded here")
        );
    }
}
