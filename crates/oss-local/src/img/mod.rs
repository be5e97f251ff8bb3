//! Image processing on GetObject (`x-oss-process=image/...`): resize, watermark (text and
//! image), format, quality, info. Decoding and encoding by the `image` crate.

mod resize;
mod watermark;

use crate::context::Principal;
use crate::context::{Call, Resp};
use crate::storage::ObjectMeta;
use crate::xml::OssError;
use axum::body::Body;
use image::{DynamicImage, ImageFormat};
use std::io::Read;

/// Largest source image IMG takes (20 MB).
const MAX_SOURCE: u64 = 20 * 1024 * 1024;
/// Longest side of a source image (OSS's figure).
const MAX_SOURCE_SIDE: u32 = 30_000;
/// Most pixels of a source image (OSS allows 250 million; a dev tool keeps memory lower).
const MAX_SOURCE_PIXELS: u64 = 50_000_000;
/// Longest side and most pixels of a watermark image.
const MAX_MARK_SIDE: u32 = 4096;
const MAX_MARK_PIXELS: u64 = 4096 * 4096;
/// Most bytes any one decoder may allocate.
const MAX_DECODER_ALLOC: u64 = 512 * 1024 * 1024;
/// Most actions in one `x-oss-process` chain.
const MAX_ACTIONS: usize = 16;
/// Image jobs run at once; more wait for a turn.
pub(crate) const CONCURRENT_JOBS: usize = 2;

/// Bounds for decoding one image, and the error for one beyond them.
#[derive(Clone, Copy)]
pub(crate) struct Bounds {
    max_side: u32,
    max_pixels: u64,
    too_large: fn() -> OssError,
}

/// Bounds of a source image.
pub(crate) const SOURCE: Bounds = Bounds {
    max_side: MAX_SOURCE_SIDE,
    max_pixels: MAX_SOURCE_PIXELS,
    too_large: || {
        OssError::new(
            400,
            "ImageTooLarge",
            "The source image is larger than 30000 pixels on a side or 50 million pixels.",
        )
    },
};

/// Bounds of a watermark image.
pub(crate) const MARK: Bounds = Bounds {
    max_side: MAX_MARK_SIDE,
    max_pixels: MAX_MARK_PIXELS,
    too_large: || {
        OssError::new(
            400,
            "WatermarkError",
            "The watermark image is larger than 4096x4096 pixels.",
        )
    },
};

fn reader(bytes: &[u8]) -> Result<image::ImageReader<std::io::Cursor<&[u8]>>, OssError> {
    image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .ok()
        .filter(|r| r.format().is_some())
        .ok_or_else(unsupported)
}

fn unsupported() -> OssError {
    OssError::new(
        400,
        "BadRequest",
        "The source image format is not supported.",
    )
}

/// The format and size an image's header announces, refused beyond `bounds`.
pub(crate) fn dimensions(
    bytes: &[u8],
    bounds: Bounds,
) -> Result<(ImageFormat, u32, u32), OssError> {
    let r = reader(bytes)?;
    let format = r.format().ok_or_else(unsupported)?;
    let (w, h) = r.into_dimensions().map_err(|_| unsupported())?;
    if w > bounds.max_side || h > bounds.max_side || w as u64 * h as u64 > bounds.max_pixels {
        return Err((bounds.too_large)());
    }
    Ok((format, w, h))
}

/// Decodes an image within `bounds` (checked from the header first) and the decoder's
/// allocation limit.
pub(crate) fn decode(
    bytes: &[u8],
    bounds: Bounds,
) -> Result<(ImageFormat, DynamicImage), OssError> {
    let (format, _, _) = dimensions(bytes, bounds)?;
    let mut r = reader(bytes)?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(bounds.max_side);
    limits.max_image_height = Some(bounds.max_side);
    limits.max_alloc = Some(MAX_DECODER_ALLOC);
    r.limits(limits);
    let img = r.decode().map_err(|e| match e {
        image::ImageError::Limits(_) => (bounds.too_large)(),
        _ => unsupported(),
    })?;
    Ok((format, img))
}

/// One `name,k_v,k_v` action of the chain.
#[derive(Debug, Clone)]
pub(crate) struct Action {
    pub name: String,
    pub params: Vec<(String, String)>,
}

impl Action {
    pub fn get(&self, k: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    }

    /// An integer parameter within `range`, if present.
    pub fn int(
        &self,
        k: &str,
        range: std::ops::RangeInclusive<i64>,
    ) -> Result<Option<i64>, OssError> {
        match self.get(k) {
            None => Ok(None),
            Some(v) => v
                .parse::<i64>()
                .ok()
                .filter(|n| range.contains(n))
                .map(Some)
                .ok_or_else(|| bad(&format!("The {} parameter {k}_{v} is invalid.", self.name))),
        }
    }
}

pub(crate) fn bad(message: &str) -> OssError {
    OssError::new(400, "InvalidArgument", message)
}

/// Parses `image/a,k_v/b,k_v`: at most [`MAX_ACTIONS`] actions; an action repeated verbatim
/// is applied once.
pub(crate) fn parse(process: &str) -> Result<Vec<Action>, OssError> {
    let mut segs = process.split('/');
    if segs.next() != Some("image") {
        return Err(bad(
            "Only image processing (x-oss-process=image/...) is supported.",
        ));
    }
    let segs: Vec<&str> = segs.filter(|s| !s.is_empty()).collect();
    if segs.len() > MAX_ACTIONS {
        return Err(bad(&format!(
            "At most {MAX_ACTIONS} image actions may be chained."
        )));
    }
    let mut actions: Vec<Action> = Vec::new();
    for (i, seg) in segs.iter().enumerate() {
        if segs[..i].contains(seg) {
            continue;
        }
        let mut items = seg.split(',');
        let name = items.next().unwrap_or("").to_string();
        let mut params = Vec::new();
        for item in items.filter(|s| !s.is_empty()) {
            let (k, v) = item.split_once('_').unwrap_or((item, ""));
            params.push((k.to_string(), v.to_string()));
        }
        actions.push(Action { name, params });
    }
    if actions.is_empty() {
        return Err(OssError::new(
            400,
            "MissingArgument",
            "No image action given.",
        ));
    }
    Ok(actions)
}

fn format_name(f: ImageFormat) -> &'static str {
    match f {
        ImageFormat::Jpeg => "jpg",
        ImageFormat::Png => "png",
        ImageFormat::WebP => "webp",
        ImageFormat::Gif => "gif",
        ImageFormat::Bmp => "bmp",
        _ => "unknown",
    }
}

fn content_type(f: ImageFormat) -> &'static str {
    match f {
        ImageFormat::Jpeg => "image/jpeg",
        ImageFormat::Png => "image/png",
        ImageFormat::WebP => "image/webp",
        ImageFormat::Gif => "image/gif",
        ImageFormat::Bmp => "image/bmp",
        _ => "application/octet-stream",
    }
}

/// The result of a processing chain.
pub(crate) struct Output {
    pub bytes: Vec<u8>,
    pub content_type: &'static str,
}

/// Runs the chain on `source`. `load_watermark` fetches a watermark image object by key.
pub(crate) fn process(
    source: &[u8],
    actions: &[Action],
    load_watermark: &dyn Fn(&str) -> Result<Vec<u8>, OssError>,
) -> Result<Output, OssError> {
    if actions.iter().any(|a| a.name == "info") {
        let (src_format, width, height) = dimensions(source, SOURCE)?;
        let info = serde_json::json!({
            "FileSize": {"value": source.len().to_string()},
            "Format": {"value": format_name(src_format)},
            "ImageHeight": {"value": height.to_string()},
            "ImageWidth": {"value": width.to_string()},
        });
        return Ok(Output {
            bytes: info.to_string().into_bytes(),
            content_type: "application/json",
        });
    }
    let (src_format, mut img) = decode(source, SOURCE)?;
    let mut out_format = src_format;
    let mut quality: u8 = 90;
    for a in actions {
        match a.name.as_str() {
            "resize" => img = resize::apply(img, a)?,
            "watermark" => img = watermark::apply(img, a, load_watermark)?,
            "format" => {
                let f = a.params.first().map(|(k, _)| k.as_str()).unwrap_or("");
                out_format = match f {
                    "jpg" | "jpeg" => ImageFormat::Jpeg,
                    "png" => ImageFormat::Png,
                    "webp" => ImageFormat::WebP,
                    "bmp" => ImageFormat::Bmp,
                    "gif" => ImageFormat::Gif,
                    _ => return Err(bad(&format!("The format {f:?} is not supported."))),
                }
            }
            "quality" => {
                let q = a
                    .int("q", 1..=100)?
                    .or(a.int("Q", 1..=100)?)
                    .ok_or_else(|| {
                        OssError::new(400, "MissingArgument", "quality needs q_ or Q_.")
                    })?;
                quality = q as u8;
            }
            other => {
                return Err(bad(&format!(
                    "The image action {other:?} is not supported."
                )))
            }
        }
    }
    let mut bytes = Vec::new();
    let mut cursor = std::io::Cursor::new(&mut bytes);
    let encode_err = |e: image::ImageError| OssError::internal(format!("encoding: {e}"));
    match out_format {
        ImageFormat::Jpeg => {
            let rgb = img.to_rgb8();
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut cursor, quality)
                .encode_image(&rgb)
                .map_err(encode_err)?;
        }
        ImageFormat::WebP => {
            // The crate writes lossless WebP only; quality does not apply.
            img.to_rgba8()
                .write_to(&mut cursor, ImageFormat::WebP)
                .map_err(encode_err)?;
        }
        ImageFormat::Gif | ImageFormat::Bmp => img
            .to_rgba8()
            .write_to(&mut cursor, out_format)
            .map_err(encode_err)?,
        f => img.write_to(&mut cursor, f).map_err(encode_err)?,
    }
    Ok(Output {
        bytes,
        content_type: content_type(out_format),
    })
}

/// GetObject with `x-oss-process`: reads the object, processes it off the async threads.
pub(crate) async fn respond(
    c: &Call<'_>,
    meta: &ObjectMeta,
    file: std::fs::File,
    process: &str,
) -> Result<Resp, OssError> {
    let (state, bucket, principal, ctx) = (c.state, c.bucket, c.principal, c.ctx);
    let actions = parse(process)?;
    if meta.size > MAX_SOURCE {
        return Err(OssError::new(
            400,
            "ImageTooLarge",
            "The source image exceeds 20 MB.",
        ));
    }
    // Image jobs take their turn; the memory of each is bounded by the limits above.
    let _turn = state.img_jobs.acquire().await.map_err(OssError::internal)?;
    // A watermark image must be readable by the caller too.
    let mut marks: Vec<(String, Vec<u8>)> = Vec::new();
    for a in actions.iter().filter(|a| a.name == "watermark") {
        if let Some(enc) = a.get("image") {
            let key = watermark::decode_key(enc)?;
            let resource = format!(
                "acs:oss:{}:{}:{bucket}/{key}",
                state.opts.region, state.opts.account_id
            );
            let public = state
                .opts
                .buckets
                .iter()
                .any(|b| b.name == bucket && b.public_read);
            if !(principal.allows("oss:GetObject", &resource, ctx)
                || (public && matches!(principal, Principal::Anonymous)))
            {
                return Err(OssError::access_denied(
                    "Access denied by authorizer's policy.",
                ));
            }
            if marks.iter().any(|(k, _)| *k == key) {
                continue;
            }
            let (mark_meta, f) = state.storage.open_data(bucket, &key)?.ok_or_else(|| {
                OssError::new(400, "WatermarkError", "The watermark image does not exist.")
            })?;
            if mark_meta.size > MAX_SOURCE {
                return Err((MARK.too_large)());
            }
            let mut buf = Vec::new();
            f.take(MAX_SOURCE).read_to_end(&mut buf)?;
            marks.push((key, buf));
        }
    }
    let mut file = file;
    let out = tokio::task::spawn_blocking(move || -> Result<Output, OssError> {
        let mut source = Vec::new();
        (&mut file).take(MAX_SOURCE).read_to_end(&mut source)?;
        let load = |key: &str| {
            marks
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, b)| b.clone())
                .ok_or_else(|| {
                    OssError::new(400, "WatermarkError", "The watermark image does not exist.")
                })
        };
        self::process(&source, &actions, &load)
    })
    .await
    .map_err(OssError::internal)??;
    Ok(http::Response::builder()
        .status(200)
        .header("content-type", out.content_type)
        .header("content-length", out.bytes.len().to_string())
        .body(Body::from(out.bytes))
        .expect("valid response"))
}
