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

/// Largest output area (pixels) of a resize, at every step.
const MAX_OUT_PIXELS: u64 = 4096 * 4096;

/// Refuses a size over [`MAX_SIDE`] on a side or [`MAX_OUT_PIXELS`] in area.
fn check_size(w: u32, h: u32) -> Result<(), OssError> {
    if w as i64 > MAX_SIDE || h as i64 > MAX_SIDE || (w as u64) * (h as u64) > MAX_OUT_PIXELS {
        return Err(bad(
            "The target image is larger than 4096x4096 pixels or 16384 on a side.",
        ));
    }
    Ok(())
}

/// The target size for `(ow, oh)` under the action's parameters, and the canvas for fill/pad.
///
/// Every size the plan makes is bounded ([`check_size`]): `m_fill` crops the source to the
/// target's aspect ratio first, so no scaled intermediate is ever larger than the answer.
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
        return Plan::checked(ow, oh, tw, th, None, limit);
    }
    // l/s name the longer and shorter side of the source.
    if l.is_some() || s.is_some() {
        let landscape = ow >= oh;
        let (lw, lh) = if landscape { (l, s) } else { (s, l) };
        w = w.or(lw);
        h = h.or(lh);
    }
    let kw = w.map(|w| w as f64 / ow as f64);
    let kh = h.map(|h| h as f64 / oh as f64);
    let (fit, cover) = match (kw, kh) {
        (Some(a), Some(b)) => (a.min(b), a.max(b)),
        (Some(a), None) | (None, Some(a)) => (a, a),
        (None, None) => {
            return Err(OssError::new(
                400,
                "MissingArgument",
                "resize needs w, h, l, s or p.",
            ))
        }
    };
    match mode {
        "lfit" => {
            let (tw, th) = scaled(ow, oh, fit);
            Plan::checked(ow, oh, tw, th, None, limit)
        }
        "mfit" => {
            let (tw, th) = scaled(ow, oh, cover);
            Plan::checked(ow, oh, tw, th, None, limit)
        }
        "fill" => fill_plan(ow, oh, w, h, cover, limit),
        "pad" => {
            let (tw, th) = scaled(ow, oh, fit);
            let (cw, ch) = (w.unwrap_or(tw), h.unwrap_or(th));
            check_size(cw, ch)?;
            let mut plan = Plan::checked(ow, oh, tw.min(cw), th.min(ch), None, limit)?;
            plan.pad = Some((cw, ch));
            Ok(plan)
        }
        _ => {
            let tw = w.unwrap_or_else(|| scaled(ow, oh, fit).0);
            let th = h.unwrap_or_else(|| scaled(ow, oh, fit).1);
            Plan::checked(ow, oh, tw, th, None, limit)
        }
    }
}

/// `m_fill`: the centred part of the source with the target's aspect ratio, scaled to the
/// target. The same pixels as "scale to cover, then crop", without the large intermediate.
fn fill_plan(
    ow: u32,
    oh: u32,
    w: Option<u32>,
    h: Option<u32>,
    cover: f64,
    limit: bool,
) -> Result<Plan, OssError> {
    let (tw, th) = scaled(ow, oh, cover);
    let (cw, ch) = (w.unwrap_or(tw).min(tw), h.unwrap_or(th).min(th));
    let crop_w = ((cw as f64 / cover).round() as u32).clamp(1, ow);
    let crop_h = ((ch as f64 / cover).round() as u32).clamp(1, oh);
    let crop = (ow - crop_w) / 2;
    let crop = (crop, (oh - crop_h) / 2, crop_w, crop_h);
    let mut plan = Plan::checked(ow, oh, cw, ch, Some(crop), limit)?;
    // limit_1 compares the scaled source, not the crop, with the source.
    plan.keep = limit && (tw > ow || th > oh);
    Ok(plan)
}

/// Crop the source (m_fill), scale to `(w, h)`, then pad (m_pad); or keep the source when
/// `keep`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Plan {
    /// `(x, y, w, h)` of the source to use.
    pub crop: Option<(u32, u32, u32, u32)>,
    pub w: u32,
    pub h: u32,
    /// The canvas `(w, h)` the scaled image is centred on.
    pub pad: Option<(u32, u32)>,
    pub keep: bool,
}

impl Plan {
    fn checked(
        ow: u32,
        oh: u32,
        w: u32,
        h: u32,
        crop: Option<(u32, u32, u32, u32)>,
        limit: bool,
    ) -> Result<Self, OssError> {
        check_size(w, h)?;
        // limit_1 (the default): a result larger than the source returns the source.
        let keep = limit && (w > ow || h > oh);
        Ok(Plan {
            crop,
            w,
            h,
            pad: None,
            keep,
        })
    }

    #[cfg(test)]
    pub fn final_size(&self) -> (u32, u32) {
        self.pad.unwrap_or((self.w, self.h))
    }
}

pub(crate) fn apply(img: DynamicImage, a: &Action) -> Result<DynamicImage, OssError> {
    let plan = plan(img.width(), img.height(), a)?;
    if plan.keep {
        return Ok(img);
    }
    let source = match plan.crop {
        Some((x, y, w, h)) => img.crop_imm(x, y, w, h),
        None => img,
    };
    let resized = source.resize_exact(plan.w, plan.h, FilterType::Triangle);
    let Some((cw, ch)) = plan.pad else {
        return Ok(resized);
    };
    let color = parse_color(a.get("color").unwrap_or("FFFFFF"))?;
    let mut canvas = RgbaImage::from_pixel(cw, ch, color);
    let x = (cw.saturating_sub(plan.w)) / 2;
    let y = (ch.saturating_sub(plan.h)) / 2;
    canvas
        .copy_from(&resized.to_rgba8(), x, y)
        .map_err(|e| OssError::internal(format!("pad: {e}")))?;
    Ok(DynamicImage::ImageRgba8(canvas))
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

    #[test]
    fn no_step_is_larger_than_the_bounds() {
        // The shape that used to plan a 4096 x 67,108,864 intermediate.
        let p = plan(1, 16384, &act("m_fill,w_4096,h_1,limit_0")).unwrap();
        assert_eq!((p.w, p.h, p.crop), (4096, 1, Some((0, 8191, 1, 1))));
        assert_eq!(
            plan(400, 200, &act("m_fill,w_100,h_100")).unwrap().crop,
            Some((100, 0, 200, 200))
        );
        for bad in [
            "m_pad,w_4096,limit_0",
            "m_mfit,w_4096,h_4096,limit_0",
            "p_1000,limit_0",
            "m_fixed,w_16384,h_16384",
        ] {
            assert!(plan(1, 16384, &act(bad)).is_err(), "{bad}");
        }
        assert!(
            plan(16384, 1, &act("p_1000")).is_err(),
            "over 16384 on a side"
        );
    }
}
