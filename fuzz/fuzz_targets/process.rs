//! `x-oss-process` strings. oss-local's IMG parser is crate-private, so this fuzzes the public
//! builders of `oss_direct::process` with arbitrary parameters and parses what they render with
//! the grammar OSS uses (`image/<step>/<step>`, a step is `action,name_value,...`): the chain
//! has one step per call, each step starts with its action, text and image names come back from
//! their base64url, numbers come back as set. Colors are checked only when they are hex, as the
//! builders take them unchecked (see fuzz/README.md).
#![no_main]
use arbitrary::Arbitrary;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use libfuzzer_sys::fuzz_target;
use oss_direct::process::*;

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Mode {
    Lfit,
    Mfit,
    Fill,
    Pad,
    Fixed,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Grav {
    Nw,
    N,
    Ne,
    W,
    C,
    E,
    Sw,
    S,
    Se,
}

fn gravity(g: Grav) -> Gravity {
    match g {
        Grav::Nw => Gravity::NorthWest,
        Grav::N => Gravity::North,
        Grav::Ne => Gravity::NorthEast,
        Grav::W => Gravity::West,
        Grav::C => Gravity::Center,
        Grav::E => Gravity::East,
        Grav::Sw => Gravity::SouthWest,
        Grav::S => Gravity::South,
        Grav::Se => Gravity::SouthEast,
    }
}

#[derive(Arbitrary, Debug)]
enum Op {
    Resize {
        mode: Mode,
        w: Option<u32>,
        h: Option<u32>,
        l: Option<u32>,
        s: Option<u32>,
        limit: Option<bool>,
        color: Option<String>,
    },
    Text {
        text: String,
        font: Option<String>,
        size: Option<u32>,
        color: Option<String>,
        g: Option<Grav>,
        offset: Option<(u32, u32)>,
        t: Option<u8>,
    },
    Image {
        object: String,
        g: Option<Grav>,
        offset: Option<(u32, u32)>,
        t: Option<u8>,
    },
    Format(u8),
    Quality(u8),
    Info,
}

fn hex_color(c: &Option<String>) -> bool {
    c.as_deref().is_none_or(|c| {
        let c = c.trim_start_matches('#');
        !c.is_empty() && c.bytes().all(|b| b.is_ascii_hexdigit())
    })
}

fn param<'a>(step: &'a str, name: &str) -> Option<&'a str> {
    step.split(',')
        .skip(1)
        .find_map(|p| p.strip_prefix(name)?.strip_prefix('_'))
}

fn unb64(s: &str) -> String {
    String::from_utf8(URL_SAFE_NO_PAD.decode(s).expect("base64url")).expect("UTF-8")
}

fuzz_target!(|ops: Vec<Op>| {
    let mut p = ImageProcess::new();
    let mut checkable = true;
    for op in &ops {
        p = match op {
            Op::Resize {
                mode,
                w,
                h,
                l,
                s,
                limit,
                color,
            } => {
                checkable &= hex_color(color);
                let mut r = Resize::new(match mode {
                    Mode::Lfit => ResizeMode::Lfit,
                    Mode::Mfit => ResizeMode::Mfit,
                    Mode::Fill => ResizeMode::Fill,
                    Mode::Pad => ResizeMode::Pad,
                    Mode::Fixed => ResizeMode::Fixed,
                });
                if let Some(v) = w {
                    r = r.width(*v)
                }
                if let Some(v) = h {
                    r = r.height(*v)
                }
                if let Some(v) = l {
                    r = r.longer(*v)
                }
                if let Some(v) = s {
                    r = r.shorter(*v)
                }
                if let Some(v) = limit {
                    r = r.limit(*v)
                }
                if let Some(c) = color {
                    r = r.color(c)
                }
                p.resize(r)
            }
            Op::Text {
                text,
                font,
                size,
                color,
                g,
                offset,
                t,
            } => {
                checkable &= hex_color(color);
                let mut w = TextWatermark::new(text.clone());
                if let Some(f) = font {
                    w = w.font(f)
                }
                if let Some(v) = size {
                    w = w.size(*v)
                }
                if let Some(c) = color {
                    w = w.color(c)
                }
                if let Some(g) = g {
                    w = w.gravity(gravity(*g))
                }
                if let Some((x, y)) = offset {
                    w = w.offset(*x, *y)
                }
                if let Some(t) = t {
                    w = w.transparency(*t)
                }
                p.watermark(w)
            }
            Op::Image {
                object,
                g,
                offset,
                t,
            } => {
                let mut w = ImageWatermark::new(object.clone());
                if let Some(g) = g {
                    w = w.gravity(gravity(*g))
                }
                if let Some((x, y)) = offset {
                    w = w.offset(*x, *y)
                }
                if let Some(t) = t {
                    w = w.transparency(*t)
                }
                p.image_watermark(w)
            }
            Op::Format(f) => p.format(match f % 5 {
                0 => Format::Jpg,
                1 => Format::Png,
                2 => Format::Webp,
                3 => Format::Bmp,
                _ => Format::Gif,
            }),
            Op::Quality(q) => p.quality(*q),
            Op::Info => p.info(),
        };
    }
    let s = p.to_string();
    let body = s.strip_prefix("image/").expect("image/ prefix");
    if !checkable || ops.is_empty() {
        return;
    }
    let steps: Vec<&str> = body.split('/').collect();
    assert_eq!(steps.len(), ops.len(), "{s}");
    for (step, op) in steps.iter().zip(&ops) {
        let action = step.split(',').next().unwrap();
        match op {
            Op::Resize { w, .. } => {
                assert_eq!(action, "resize");
                assert_eq!(param(step, "w"), w.map(|v| v.to_string()).as_deref());
            }
            Op::Text { text, font, t, .. } => {
                assert_eq!(action, "watermark");
                assert_eq!(&unb64(param(step, "text").expect("text_")), text);
                if let Some(f) = font {
                    assert_eq!(&unb64(param(step, "type").expect("type_")), f);
                }
                if let Some(t) = t {
                    assert_eq!(param(step, "t"), Some((*t).min(100).to_string().as_str()));
                }
            }
            Op::Image { object, .. } => {
                assert_eq!(action, "watermark");
                assert_eq!(&unb64(param(step, "image").expect("image_")), object);
            }
            Op::Format(_) => assert_eq!(action, "format"),
            Op::Quality(q) => {
                assert_eq!(action, "quality");
                let v: u8 = param(step, "q").unwrap().parse().unwrap();
                assert_eq!(v, (*q).clamp(1, 100));
            }
            Op::Info => assert_eq!(*step, "info"),
        }
    }
});
