//! The pixel path: bounded decode (`image` with `image::Limits`), SIMD downscale
//! (`fast_image_resize`, Lanczos3), EXIF orientation applied to the pixels, re-encode.

use super::{image_error, PhotoFormat, PrepareLimits};
use crate::Result;
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageEncoder, ImageReader};
use std::io::Cursor;

/// A decoded picture with what the encoder should carry over.
pub(super) struct Decoded {
    pub image: DynamicImage,
    pub icc: Option<Vec<u8>>,
    pub exif: Option<Vec<u8>>,
}

fn limits(l: &PrepareLimits) -> image::Limits {
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(l.max_width);
    limits.max_image_height = Some(l.max_height);
    limits.max_alloc = Some(l.max_alloc_bytes);
    limits
}

fn reader<'a>(
    data: &'a [u8],
    format: PhotoFormat,
    l: &PrepareLimits,
) -> ImageReader<Cursor<&'a [u8]>> {
    let mut r = ImageReader::with_format(Cursor::new(data), format.image_format());
    r.limits(limits(l));
    r
}

/// Width and height from the header, checked against the limits before any pixel is decoded.
pub(super) fn dimensions(
    data: &[u8],
    format: PhotoFormat,
    l: &PrepareLimits,
) -> Result<(u32, u32)> {
    let (w, h) = reader(data, format, l)
        .into_dimensions()
        .map_err(|e| image_error(format, e))?;
    if w == 0 || h == 0 {
        return Err(super::container_error(format.name(), "it has no pixels"));
    }
    if w > l.max_width || h > l.max_height || u64::from(w) * u64::from(h) > l.max_pixels {
        return Err(super::container_error(
            format.name(),
            &format!("{w}×{h} pixels is over the limit for preparing photos"),
        ));
    }
    Ok((w, h))
}

/// Decodes within the limits.
pub(super) fn decode(data: &[u8], format: PhotoFormat, l: &PrepareLimits) -> Result<Decoded> {
    let err = |e| image_error(format, e);
    let mut decoder = reader(data, format, l).into_decoder().map_err(err)?;
    let icc = decoder.icc_profile().map_err(err)?;
    let exif = decoder.exif_metadata().map_err(err)?;
    let image = DynamicImage::from_decoder(decoder).map_err(err)?;
    Ok(Decoded { image, icc, exif })
}

/// The size with the long edge at `max_edge` and the aspect ratio kept (at least 1 px).
pub(super) fn fit(w: u32, h: u32, max_edge: u32) -> (u32, u32) {
    let long = w.max(h);
    if long <= max_edge {
        return (w, h);
    }
    let scale = |v: u32| {
        ((u64::from(v) * u64::from(max_edge) + u64::from(long) / 2) / u64::from(long)).max(1) as u32
    };
    (scale(w), scale(h))
}

/// Downscales so the long edge is at most `max_edge` (SIMD convolution, Lanczos3).
pub(super) fn downscale(img: DynamicImage, max_edge: u32) -> Result<DynamicImage> {
    let (w, h) = fit(img.width(), img.height(), max_edge);
    if (w, h) == (img.width(), img.height()) {
        return Ok(img);
    }
    // fast_image_resize handles 8- and 16-bit grey/RGB(A) and f32 RGB(A); anything else is
    // first converted to 8-bit RGBA.
    let img = match img {
        DynamicImage::ImageLuma8(_)
        | DynamicImage::ImageLumaA8(_)
        | DynamicImage::ImageRgb8(_)
        | DynamicImage::ImageRgba8(_)
        | DynamicImage::ImageLuma16(_)
        | DynamicImage::ImageLumaA16(_)
        | DynamicImage::ImageRgb16(_)
        | DynamicImage::ImageRgba16(_) => img,
        other => DynamicImage::ImageRgba8(other.to_rgba8()),
    };
    let mut dst = DynamicImage::new(w, h, img.color());
    let options = fast_image_resize::ResizeOptions::new().resize_alg(
        fast_image_resize::ResizeAlg::Convolution(fast_image_resize::FilterType::Lanczos3),
    );
    fast_image_resize::Resizer::new()
        .resize(&img, &mut dst, &options)
        .map_err(|e| super::container_error("image", &format!("cannot resize it ({e})")))?;
    Ok(dst)
}

/// Turns the pixels upright as EXIF `orientation` (2–8) says.
pub(super) fn orient(img: &mut DynamicImage, orientation: u8) {
    if let Some(o) = Orientation::from_exif(orientation) {
        img.apply_orientation(o);
    }
}

/// Encodes `img` in `format`: JPEG at `quality`, PNG and WebP lossless (the `image` crate has
/// no lossy WebP encoder). `icc` is always carried; `exif` only when given (metadata kept).
pub(super) fn encode(
    img: DynamicImage,
    format: PhotoFormat,
    quality: u8,
    icc: Option<Vec<u8>>,
    exif: Option<Vec<u8>>,
) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let err = |e| image_error(format, e);
    let img = match (format, &img) {
        // JPEG has no alpha and no 16-bit samples.
        (PhotoFormat::Jpeg, DynamicImage::ImageLuma8(_) | DynamicImage::ImageRgb8(_)) => img,
        (PhotoFormat::Jpeg, DynamicImage::ImageLuma16(_) | DynamicImage::ImageLumaA8(_)) => {
            DynamicImage::ImageLuma8(img.to_luma8())
        }
        (PhotoFormat::Jpeg, _) => DynamicImage::ImageRgb8(img.to_rgb8()),
        (PhotoFormat::WebP, DynamicImage::ImageRgb8(_) | DynamicImage::ImageRgba8(_)) => img,
        (PhotoFormat::WebP, _) if img.color().has_alpha() => {
            DynamicImage::ImageRgba8(img.to_rgba8())
        }
        (PhotoFormat::WebP, _) => DynamicImage::ImageRgb8(img.to_rgb8()),
        (PhotoFormat::Png, _) => img,
    };
    let (w, h, color) = (img.width(), img.height(), img.color().into());
    match format {
        PhotoFormat::Jpeg => encode_jpeg(&img, quality, icc, exif, &mut out)?,
        PhotoFormat::Png => {
            let mut e = image::codecs::png::PngEncoder::new(&mut out);
            carry(&mut e, icc, exif);
            e.write_image(img.as_bytes(), w, h, color).map_err(err)?;
        }
        PhotoFormat::WebP => {
            let mut e = image::codecs::webp::WebPEncoder::new_lossless(&mut out);
            carry(&mut e, icc, exif);
            e.write_image(img.as_bytes(), w, h, color).map_err(err)?;
        }
    }
    Ok(out)
}

/// JPEG with the `jpeg-encoder` crate (SIMD): about 3× faster than `image`'s encoder at the
/// same quality, and a little smaller (bench/RESULTS.md, "Photo preparation").
fn encode_jpeg(
    img: &DynamicImage,
    quality: u8,
    icc: Option<Vec<u8>>,
    exif: Option<Vec<u8>>,
    out: &mut Vec<u8>,
) -> Result<()> {
    let err = |e: jpeg_encoder::EncodingError| {
        super::container_error("JPEG", &format!("cannot encode it ({e})"))
    };
    let (Ok(w), Ok(h)) = (u16::try_from(img.width()), u16::try_from(img.height())) else {
        return Err(super::container_error("JPEG", "it is too large for JPEG"));
    };
    let color = match img {
        DynamicImage::ImageLuma8(_) => jpeg_encoder::ColorType::Luma,
        _ => jpeg_encoder::ColorType::Rgb,
    };
    let mut e = jpeg_encoder::Encoder::new(out, quality);
    // Metadata too large for one segment is dropped rather than failing the photo.
    if let Some(icc) = icc {
        let _ = e.add_icc_profile(&icc);
    }
    if let Some(exif) = exif {
        let _ = e.add_exif_metadata(&exif);
    }
    e.encode(img.as_bytes(), w, h, color).map_err(err)
}

fn carry(e: &mut impl ImageEncoder, icc: Option<Vec<u8>>, exif: Option<Vec<u8>>) {
    // Each encoder used here supports both; an unsupported one only loses the metadata.
    if let Some(icc) = icc {
        let _ = e.set_icc_profile(icc);
    }
    if let Some(exif) = exif {
        let _ = e.set_exif_metadata(exif);
    }
}

#[cfg(test)]
mod tests {
    use super::fit;

    #[test]
    fn fit_keeps_the_aspect_ratio() {
        assert_eq!(fit(4000, 3000, 2048), (2048, 1536));
        assert_eq!(fit(3000, 4000, 2048), (1536, 2048));
        assert_eq!(fit(100, 50, 2048), (100, 50));
        assert_eq!(fit(10000, 1, 100), (100, 1));
    }
}
