//! oss-local's IMG operations run on small images (not only the parser): any `x-oss-process`
//! chain, built from the real actions with arbitrary parameters or taken as raw text, on an
//! arbitrary small image of any colour type and format, with an image watermark available. The
//! answer is an image (or `image/info` JSON) or a 400 with an OSS code, never a panic, an abort
//! or a 5xx; an image answer decodes, and resize answers are within 16384 on a side.
#![no_main]
use arbitrary::Arbitrary;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
enum Step {
    Resize {
        mode: u8,
        params: Vec<(u8, u32)>,
    },
    Text {
        text: String,
        size: Option<u16>,
        g: u8,
        x: Option<u16>,
        y: Option<u16>,
        t: Option<u8>,
    },
    Image {
        g: u8,
        x: Option<u16>,
        y: Option<u16>,
    },
    Format(u8),
    Quality(u8),
    Info,
    Raw(String),
}

#[derive(Arbitrary, Debug)]
struct Input {
    width: u8,
    height: u8,
    color: u8,
    format: u8,
    mark_side: u8,
    steps: Vec<Step>,
}

const MODES: [&str; 6] = ["lfit", "mfit", "fill", "pad", "fixed", "zoom"];
const NAMES: [&str; 8] = ["w", "h", "l", "s", "p", "limit", "color", "x"];
const GRAVITY: [&str; 10] = [
    "nw", "north", "ne", "west", "center", "east", "sw", "south", "se", "up",
];
const FORMATS: [&str; 6] = ["jpg", "png", "webp", "bmp", "gif", "tiff"];

fn step_text(s: &Step) -> String {
    let xy = |x: &Option<u16>, y: &Option<u16>| {
        let mut o = String::new();
        if let Some(x) = x {
            o += &format!(",x_{x}");
        }
        if let Some(y) = y {
            o += &format!(",y_{y}");
        }
        o
    };
    match s {
        Step::Resize { mode, params } => {
            let mut o = format!("resize,m_{}", MODES[*mode as usize % MODES.len()]);
            for (n, v) in params.iter().take(6) {
                let name = NAMES[*n as usize % NAMES.len()];
                let v = if name == "color" { format!("{:06X}", v & 0xFF_FFFF) } else { v.to_string() };
                o += &format!(",{name}_{v}");
            }
            o
        }
        Step::Text { text, size, g, x, y, t } => {
            let mut o = format!("watermark,text_{}", URL_SAFE_NO_PAD.encode(text));
            if let Some(size) = size {
                o += &format!(",size_{size}");
            }
            if let Some(t) = t {
                o += &format!(",t_{t}");
            }
            o + &format!(",g_{}", GRAVITY[*g as usize % GRAVITY.len()]) + &xy(x, y)
        }
        Step::Image { g, x, y } => {
            format!("watermark,image_{}", URL_SAFE_NO_PAD.encode("mark.png"))
                + &format!(",g_{}", GRAVITY[*g as usize % GRAVITY.len()])
                + &xy(x, y)
        }
        Step::Format(f) => format!("format,{}", FORMATS[*f as usize % FORMATS.len()]),
        Step::Quality(q) => format!("quality,q_{q}"),
        Step::Info => "info".into(),
        Step::Raw(r) => r.clone(),
    }
}

fn image_bytes(w: u32, h: u32, color: u8, format: u8) -> Vec<u8> {
    let base = image::RgbaImage::from_fn(w, h, |x, y| {
        image::Rgba([(x * 7) as u8, (y * 13) as u8, color, 128 + color / 2])
    });
    let img = match color % 4 {
        0 => image::DynamicImage::ImageRgba8(base),
        1 => image::DynamicImage::ImageRgb8(image::DynamicImage::ImageRgba8(base).to_rgb8()),
        2 => image::DynamicImage::ImageLuma8(image::DynamicImage::ImageRgba8(base).to_luma8()),
        _ => image::DynamicImage::ImageLumaA8(image::DynamicImage::ImageRgba8(base).to_luma_alpha8()),
    };
    let format = match format % 4 {
        0 => image::ImageFormat::Png,
        1 => image::ImageFormat::Jpeg,
        2 => image::ImageFormat::Gif,
        _ => image::ImageFormat::Bmp,
    };
    let img = if format == image::ImageFormat::Jpeg {
        image::DynamicImage::ImageRgb8(img.to_rgb8())
    } else if format != image::ImageFormat::Png {
        image::DynamicImage::ImageRgba8(img.to_rgba8())
    } else {
        img
    };
    let mut out = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut out), format)
        .expect("encodes a small image");
    out
}

fuzz_target!(|input: Input| {
    let w = u32::from(input.width % 64) + 1;
    let h = u32::from(input.height % 64) + 1;
    let source = image_bytes(w, h, input.color, input.format);
    let side = u32::from(input.mark_side % 32) + 1;
    let mark = image_bytes(side, side, input.color.wrapping_add(1), 0);
    let steps: Vec<String> = input.steps.iter().take(20).map(step_text).collect();
    let process = format!("image/{}", steps.join("/"));
    match oss_local::process_image(&source, &process, &mark) {
        Ok((content_type, bytes)) if content_type == "application/json" => {
            let v: serde_json::Value = serde_json::from_slice(&bytes).expect("info is JSON");
            assert_eq!(v["ImageWidth"]["value"], w.to_string());
        }
        Ok((_, bytes)) => {
            let out = image::load_from_memory(&bytes).expect("the answer decodes");
            assert!(out.width() <= 16384 && out.height() <= 16384, "{process}");
        }
        Err((status, code)) => {
            assert_eq!(status, 400, "{process}: {code}");
            assert!(!code.is_empty());
        }
    }
});
