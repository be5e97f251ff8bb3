//! `image/resize`: m_lfit (default), m_mfit, m_fill, m_pad, m_fixed; w, h, l, s, p, limit, color.

use super::{bad, Action};
use crate::xml::OssError;
use image::imageops::FilterType;
use image::{DynamicImage, GenericImage, Rgba, RgbaImage};

/// Longest side IMG produces.
const MAX_SIDE: i64 = 16384;

fn scaled(w: u32, h: u32, k: f64) -> (u32, u32) {
    (
        ((w as f64 * k).round() as u32).max(1),
        ((h as f64 * k).round() as u32).max(1),
    )
}

/// The target size for `(ow, oh)` under the action's parameters, and the canvas for fill/pad.
pub(crate) fn plan(ow: u32, oh: u32, a: &Action) -> Result<Plan, OssError> {
    let mode = a.get("m").unwrap_or("lfit");
    let mut w = a.int("w", 1..=MAX_SIDE)?.map(|v| v as u32);
    let mut h = a.int("h", 1..=MAX_SIDE)?.map(|v| v as u32);
    let l = a.int("l", 1..=MAX_SIDE)?.map(|v| v as u32);
    let s = a.int("s", 1..=MAX_SIDE)?.map(|v| v as u32);
    let p = a.int("p", 1..=1000)?;
    let limit = a.int("limit", 0..=1)?.unwrap_or(1) == 1;
    if !["lfit", "mfit", "fill", "pad", "fixed"].contains(&mode) {
        return Err(bad(&format!("The resize mode m_{mode} is invalid.")));
    }
    if let Some(p) = p {
        let (tw, th) = scaled(ow, oh, p as f64 / 100.0);
        return Ok(Plan::checked(ow, oh, tw, th, None, limit));
    }
    // l/s name the longer and shorter side of the source.
    if l.is_some() || s.is_some() {
        let landscape = ow >= oh;
        let (lw, lh) = if landscape { (l, s) } else { (s, l) };
        w = w.or(lw);
        h = h.or(lh);
    }
    if w.is_none() && h.is_none() {
        return Err(OssError::new(
            400,
            "MissingArgument",
            "resize needs w, h, l, s or p.",
        ));
    }
    let kw = w.map(|w| w as f64 / ow as f64);
    let kh = h.map(|h| h as f64 / oh as f64);
    let fit = match (kw, kh) {
        (Some(a), Some(b)) => a.min(b),
        (Some(a), None) | (None, Some(a)) => a,
        _ => unreachable!("checked above"),
    };
    let cover = match (kw, kh) {
        (Some(a), Some(b)) => a.max(b),
        (Some(a), None) | (None, Some(a)) => a,
        _ => unreachable!("checked above"),
    };
    let plan = match mode {
        "lfit" => {
            let (tw, th) = scaled(ow, oh, fit);
            Plan::checked(ow, oh, tw, th, None, limit)
        }
        "mfit" => {
            let (tw, th) = scaled(ow, oh, cover);
            Plan::checked(ow, oh, tw, th, None, limit)
        }
        "fill" => {
            let (tw, th) = scaled(ow, oh, cover);
            let canvas = (w.unwrap_or(tw), h.unwrap_or(th));
            Plan::checked(
                ow,
                oh,
                tw,
                th,
                Some(Canvas::Crop(canvas.0, canvas.1)),
                limit,
            )
        }
        "pad" => {
            let (tw, th) = scaled(ow, oh, fit);
            let canvas = (w.unwrap_or(tw), h.unwrap_or(th));
            Plan::checked(ow, oh, tw, th, Some(Canvas::Pad(canvas.0, canvas.1)), limit)
        }
        _ => {
            let tw = w.unwrap_or_else(|| scaled(ow, oh, fit).0);
            let th = h.unwrap_or_else(|| scaled(ow, oh, fit).1);
            Plan::checked(ow, oh, tw, th, None, limit)
        }
    };
    let (cw, ch) = plan.final_size();
    if (cw as u64) * (ch as u64) > 4096 * 4096 {
        return Err(bad("The target image is larger than 4096x4096 pixels."));
    }
    Ok(plan)
}

/// What to do after scaling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Canvas {
    Crop(u32, u32),
    Pad(u32, u32),
}

/// Scale to `(w, h)` then crop/pad, or keep the source when `keep`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Plan {
    pub w: u32,
    pub h: u32,
    pub canvas: Option<Canvas>,
    pub keep: bool,
}

impl Plan {
    fn checked(ow: u32, oh: u32, w: u32, h: u32, canvas: Option<Canvas>, limit: bool) -> Self {
        // limit_1 (the default): a result larger than the source returns the source.
        let keep = limit && (w > ow || h > oh);
        Plan { w, h, canvas, keep }
    }

    pub fn final_size(&self) -> (u32, u32) {
        match self.canvas {
            Some(Canvas::Crop(w, h)) | Some(Canvas::Pad(w, h)) => (w, h),
            None => (self.w, self.h),
        }
    }
}

pub(crate) fn apply(img: DynamicImage, a: &Action) -> Result<DynamicImage, OssError> {
    let plan = plan(img.width(), img.height(), a)?;
    if plan.keep {
        return Ok(img);
    }
    let resized = img.resize_exact(plan.w, plan.h, FilterType::Triangle);
    Ok(match plan.canvas {
        None => resized,
        Some(Canvas::Crop(cw, ch)) => {
            let x = (plan.w.saturating_sub(cw)) / 2;
            let y = (plan.h.saturating_sub(ch)) / 2;
            resized.crop_imm(x, y, cw.min(plan.w), ch.min(plan.h))
        }
        Some(Canvas::Pad(cw, ch)) => {
            let color = parse_color(a.get("color").unwrap_or("FFFFFF"))?;
            let mut canvas = RgbaImage::from_pixel(cw, ch, color);
            let x = (cw.saturating_sub(plan.w)) / 2;
            let y = (ch.saturating_sub(plan.h)) / 2;
            canvas
                .copy_from(&resized.to_rgba8(), x, y)
                .map_err(|e| OssError::internal(format!("pad: {e}")))?;
            DynamicImage::ImageRgba8(canvas)
        }
    })
}

/// `RRGGBB` hex.
pub(crate) fn parse_color(v: &str) -> Result<Rgba<u8>, OssError> {
    let bytes = hex::decode(v).ok().filter(|b| b.len() == 3);
    match bytes {
        Some(b) => Ok(Rgba([b[0], b[1], b[2], 255])),
        None => Err(bad(&format!("The color {v:?} is not RRGGBB."))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn act(s: &str) -> Action {
        super::super::parse(&format!("image/resize,{s}"))
            .unwrap()
            .remove(0)
    }

    fn size(ow: u32, oh: u32, s: &str) -> (u32, u32) {
        let p = plan(ow, oh, &act(s)).unwrap();
        if p.keep {
            (ow, oh)
        } else {
            p.final_size()
        }
    }

    #[test]
    fn modes() {
        assert_eq!(size(400, 200, "w_100"), (100, 50));
        assert_eq!(size(400, 200, "h_100"), (200, 100));
        assert_eq!(size(400, 200, "m_lfit,w_100,h_100"), (100, 50));
        assert_eq!(size(400, 200, "m_mfit,w_100,h_100"), (200, 100));
        assert_eq!(size(400, 200, "m_fill,w_100,h_100"), (100, 100));
        assert_eq!(size(400, 200, "m_pad,w_100,h_100"), (100, 100));
        assert_eq!(size(400, 200, "m_fixed,w_100,h_100"), (100, 100));
        assert_eq!(size(400, 200, "l_200"), (200, 100));
        assert_eq!(size(200, 400, "l_200"), (100, 200));
        assert_eq!(size(400, 200, "s_50"), (100, 50));
        assert_eq!(size(400, 200, "p_50"), (200, 100));
        assert_eq!(
            size(400, 200, "w_800"),
            (400, 200),
            "limit_1 keeps the source"
        );
        assert_eq!(size(400, 200, "w_800,limit_0"), (800, 400));
        assert!(plan(10, 10, &act("w_0")).is_err());
        assert!(plan(10, 10, &act("m_zoom,w_5")).is_err());
        assert!(plan(10, 10, &act("limit_0")).is_err());
    }
}
