//! `image/watermark`: text (`text_` base64url, `size`, `color`) and image (`image_` base64url
//! object key) watermarks placed by `g` (nw..se), `x`, `y`, with transparency `t`.

use super::resize::parse_color;
use super::{bad, Action};
use crate::xml::OssError;
use ab_glyph::{point, Font, FontRef, PxScale, ScaleFont};
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use image::{DynamicImage, Rgba, RgbaImage};

/// DejaVu Sans (see `assets/DejaVuSans-LICENSE.txt`).
static FONT: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");

fn base64url(v: &str) -> Result<String, OssError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(v.trim_end_matches('='))
        .or_else(|_| URL_SAFE.decode(v))
        .map_err(|_| OssError::new(400, "BadRequest", "Input is not base64 decoding."))?;
    String::from_utf8(bytes)
        .map_err(|_| OssError::new(400, "BadRequest", "Input is not base64 decoding."))
}

/// The object key named by `image_<base64url>` (any `?x-oss-process=` suffix dropped).
pub(crate) fn decode_key(enc: &str) -> Result<String, OssError> {
    let s = base64url(enc)?;
    Ok(s.split('?').next().unwrap_or("").to_string())
}

/// Renders `text` in `color` at `size` pixels into a tight RGBA image.
pub(crate) fn render_text(text: &str, size: f32, color: Rgba<u8>) -> RgbaImage {
    let font = FontRef::try_from_slice(FONT).expect("bundled font parses");
    let scale = PxScale::from(size);
    let sf = font.as_scaled(scale);
    let mut x = 0.0f32;
    let mut glyphs = Vec::new();
    let mut prev = None;
    for c in text.chars() {
        let id = sf.glyph_id(c);
        if let Some(p) = prev {
            x += sf.kern(p, id);
        }
        glyphs.push(id.with_scale_and_position(scale, point(x, sf.ascent())));
        x += sf.h_advance(id);
        prev = Some(id);
    }
    // Long text at a large size would be a huge image: nothing wider than the largest output.
    let w = (x.ceil() as u32).clamp(1, 16384);
    let h = ((sf.ascent() - sf.descent()).ceil() as u32).clamp(1, 4096);
    let mut out = RgbaImage::from_pixel(w, h, Rgba([color[0], color[1], color[2], 0]));
    for g in glyphs {
        if let Some(og) = font.outline_glyph(g) {
            let b = og.px_bounds();
            og.draw(|gx, gy, cov| {
                let px = b.min.x as i64 + gx as i64;
                let py = b.min.y as i64 + gy as i64;
                if px >= 0 && py >= 0 && (px as u32) < w && (py as u32) < h {
                    let p = out.get_pixel_mut(px as u32, py as u32);
                    let a = (cov.clamp(0.0, 1.0) * 255.0) as u8;
                    p[3] = p[3].max(a);
                }
            });
        }
    }
    out
}

/// Top-left corner of an `(ow, oh)` overlay on a `(w, h)` image for gravity `g` and margins.
pub(crate) fn position(
    g: &str,
    w: u32,
    h: u32,
    ow: u32,
    oh: u32,
    x: i64,
    y: i64,
) -> Result<(i64, i64), OssError> {
    let (w, h, ow, oh) = (w as i64, h as i64, ow as i64, oh as i64);
    let cx = (w - ow) / 2;
    let cy = (h - oh) / 2;
    Ok(match g {
        "nw" => (x, y),
        "north" => (cx, y),
        "ne" => (w - ow - x, y),
        "west" => (x, cy),
        "center" => (cx, cy),
        "east" => (w - ow - x, cy),
        "sw" => (x, h - oh - y),
        "south" => (cx, h - oh - y),
        "se" => (w - ow - x, h - oh - y),
        other => return Err(bad(&format!("The watermark gravity g_{other} is invalid."))),
    })
}

/// Alpha-blends `overlay` onto `base` at `(ox, oy)` with opacity `t` percent.
fn blend(base: &mut RgbaImage, overlay: &RgbaImage, ox: i64, oy: i64, t: u8) {
    for (x, y, p) in overlay.enumerate_pixels() {
        let (bx, by) = (ox + x as i64, oy + y as i64);
        if bx < 0 || by < 0 || bx >= base.width() as i64 || by >= base.height() as i64 {
            continue;
        }
        let a = p[3] as u32 * t as u32 / 100;
        if a == 0 {
            continue;
        }
        let d = base.get_pixel_mut(bx as u32, by as u32);
        for c in 0..3 {
            d[c] = ((p[c] as u32 * a + d[c] as u32 * (255 - a)) / 255) as u8;
        }
        d[3] = d[3].max(a as u8);
    }
}

pub(crate) fn apply(
    img: DynamicImage,
    a: &Action,
    load: &dyn Fn(&str) -> Result<Vec<u8>, OssError>,
) -> Result<DynamicImage, OssError> {
    let t = a.int("t", 0..=100)?.unwrap_or(100) as u8;
    let g = a.get("g").unwrap_or("se");
    let x = a.int("x", 0..=4096)?.unwrap_or(10);
    let y = a.int("y", 0..=4096)?.unwrap_or(10);
    let mut base = img.to_rgba8();
    let mut any = false;
    if let Some(enc) = a.get("image") {
        let key = decode_key(enc)?;
        let bytes = load(&key)?;
        let mark = match super::decode(&bytes, super::MARK) {
            Ok((_, m)) => m.to_rgba8(),
            Err(e) if e.code == "WatermarkError" => return Err(e),
            Err(_) => {
                return Err(OssError::new(
                    400,
                    "WatermarkError",
                    "The watermark image cannot be decoded.",
                ))
            }
        };
        let (px, py) = position(
            g,
            base.width(),
            base.height(),
            mark.width(),
            mark.height(),
            x,
            y,
        )?;
        blend(&mut base, &mark, px, py, t);
        any = true;
    }
    if let Some(enc) = a.get("text") {
        let text = base64url(enc)?;
        if text.is_empty() || text.chars().count() > 64 {
            return Err(bad("The watermark text must be 1 to 64 characters."));
        }
        let size = a.int("size", 1..=1000)?.unwrap_or(40) as f32;
        let color = parse_color(a.get("color").unwrap_or("000000"))?;
        let mark = render_text(&text, size, color);
        let (px, py) = position(
            g,
            base.width(),
            base.height(),
            mark.width(),
            mark.height(),
            x,
            y,
        )?;
        blend(&mut base, &mark, px, py, t);
        any = true;
    }
    if !any {
        return Err(OssError::new(
            400,
            "MissingArgument",
            "watermark needs text_ or image_.",
        ));
    }
    Ok(DynamicImage::ImageRgba8(base))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_renders_ink_and_positions() {
        let m = render_text("Hi", 40.0, Rgba([255, 0, 0, 255]));
        assert!(m.height() >= 40 && m.width() > 20);
        assert!(m.pixels().any(|p| p[3] > 200 && p[0] == 255));
        assert_eq!(position("se", 100, 80, 20, 10, 5, 6).unwrap(), (75, 64));
        assert_eq!(position("nw", 100, 80, 20, 10, 5, 6).unwrap(), (5, 6));
        assert_eq!(position("center", 100, 80, 20, 10, 5, 6).unwrap(), (40, 35));
        assert!(position("up", 1, 1, 1, 1, 0, 0).is_err());
        assert_eq!(decode_key("cGFuZGEucG5n").unwrap(), "panda.png");
        assert_eq!(decode_key("!!").unwrap_err().code, "BadRequest");
    }
}
