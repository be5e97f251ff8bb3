//! Photo preparation figures (issue 14).
//!
//! - `oss-direct-photo-bench make OUT.jpg`: a 12-megapixel (4000 × 3000) photo-like JPEG at
//!   quality 92 with an EXIF block (camera make, GPS position), the fixture.
//! - `oss-direct-photo-bench prepare IN MODE DIR`: one `oss_direct::prepare::prepare_file` into
//!   DIR, MODE `strip` (metadata only) or `strip-2048` (plus long edge 2048 px, quality 85);
//!   one JSON line: seconds, sizes, dimensions, the prepared path. Run it under
//!   `/usr/bin/time -v` for the peak memory of a process that only prepares.
//! - `oss-direct-photo-bench stages IN`: each stage of the 2048-px path timed against what it
//!   could have been (best of 3 unless noted): decode (`image`, i.e. zune-jpeg); downscale
//!   4000×3000 → 2048×1536 with `fast_image_resize` (Lanczos3, SIMD) vs `image::imageops`
//!   (Lanczos3, and Triangle); encode at quality 85 with `image`'s JPEG encoder vs the
//!   `jpeg-encoder` crate (SIMD). One JSON line.

use image::{DynamicImage, ImageEncoder, RgbImage};
use oss_direct::prepare::{prepare_file, PrepareOptions};
use serde_json::json;
use std::path::Path;
use std::time::Instant;

fn exif_with_gps() -> Vec<u8> {
    fn entry(t: &mut Vec<u8>, tag: u16, kind: u16, count: u32, value: [u8; 4]) {
        t.extend_from_slice(&tag.to_be_bytes());
        t.extend_from_slice(&kind.to_be_bytes());
        t.extend_from_slice(&count.to_be_bytes());
        t.extend_from_slice(&value);
    }
    let (make_off, gps_off) = (38u32, 46u32);
    let lat_off = gps_off + 2 + 12 * 2 + 4;
    let mut t = b"MM\0*\0\0\0\x08\0\x02".to_vec();
    entry(&mut t, 0x010F, 2, 8, make_off.to_be_bytes());
    entry(&mut t, 0x8825, 4, 1, gps_off.to_be_bytes());
    t.extend_from_slice(&[0, 0, 0, 0]);
    t.extend_from_slice(b"Phone7\0\0");
    t.extend_from_slice(&2u16.to_be_bytes());
    entry(&mut t, 0x0001, 2, 2, *b"N\0\0\0");
    entry(&mut t, 0x0002, 5, 3, lat_off.to_be_bytes());
    t.extend_from_slice(&[0, 0, 0, 0]);
    for v in [48u32, 1, 51, 1, 2400, 100] {
        t.extend_from_slice(&v.to_be_bytes());
    }
    t
}

/// Gradients, fine texture and sensor-like grain: compresses about like a phone photo.
fn picture(w: u32, h: u32) -> RgbImage {
    let mut x: u32 = 0x9E37_79B9;
    RgbImage::from_fn(w, h, |px, py| {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        let (fx, fy) = (px as f32, py as f32);
        let texture = ((fx * 0.05).sin() * (fy * 0.031).cos() * 40.0) as i32;
        let grain = (x % 17) as i32 - 8;
        let c = |base: f32| (base as i32 + texture + grain).clamp(0, 255) as u8;
        image::Rgb([
            c(60.0 + fx / w as f32 * 150.0),
            c(90.0 + fy / h as f32 * 100.0),
            c(200.0 - (fx + fy) / (w + h) as f32 * 120.0),
        ])
    })
}

fn make(out: &Path) {
    let img = picture(4000, 3000);
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 92)
        .write_image(img.as_raw(), 4000, 3000, image::ExtendedColorType::Rgb8)
        .expect("encode");
    let tiff = exif_with_gps();
    let mut file = jpeg[..2].to_vec();
    file.extend_from_slice(&[0xFF, 0xE1]);
    file.extend_from_slice(&((tiff.len() + 8) as u16).to_be_bytes());
    file.extend_from_slice(b"Exif\0\0");
    file.extend_from_slice(&tiff);
    file.extend_from_slice(&jpeg[2..]);
    std::fs::write(out, &file).expect("write the fixture");
    println!("{}", json!({"bytes": file.len(), "width": 4000, "height": 3000}));
}

fn prepare(src: &Path, mode: &str, dir: &Path) {
    let options = match mode {
        "strip" => PrepareOptions {
            strip_metadata: true,
            ..Default::default()
        },
        "strip-2048" => PrepareOptions {
            strip_metadata: true,
            max_edge: Some(2048),
            quality: Some(85),
            ..Default::default()
        },
        other => panic!("unknown mode {other}: strip or strip-2048"),
    };
    let t = Instant::now();
    let p = prepare_file(src, dir, &options).expect("prepare");
    let seconds = t.elapsed().as_secs_f64();
    let r = &p.report;
    println!(
        "{}",
        json!({"mode": mode, "seconds": seconds, "original_bytes": r.original_bytes,
               "prepared_bytes": r.prepared_bytes, "dimensions": r.prepared_dimensions,
               "reencoded": r.reencoded, "removed": r.removed.names(),
               "path": p.path, "summary": r.summary()})
    );
}

/// Best of `n` runs of `f`, in milliseconds, and its last result.
fn best<T>(n: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut best = f64::MAX;
    let mut last = None;
    for _ in 0..n {
        let t = Instant::now();
        let v = f();
        best = best.min(t.elapsed().as_secs_f64() * 1e3);
        last = Some(v);
    }
    (best, last.expect("n > 0"))
}

fn stages(src: &Path) {
    let data = std::fs::read(src).expect("read");
    let (decode_ms, img) = best(3, || image::load_from_memory(&data).expect("decode"));
    let (w, h) = (2048, 1536);
    let (fir_ms, small) = best(3, || {
        let mut dst = DynamicImage::new(w, h, img.color());
        let o = fast_image_resize::ResizeOptions::new().resize_alg(
            fast_image_resize::ResizeAlg::Convolution(fast_image_resize::FilterType::Lanczos3),
        );
        fast_image_resize::Resizer::new()
            .resize(&img, &mut dst, &o)
            .expect("resize");
        dst
    });
    let rgb = img.to_rgb8();
    let (imageops_lanczos_ms, _) = best(1, || {
        image::imageops::resize(&rgb, w, h, image::imageops::FilterType::Lanczos3)
    });
    let (imageops_triangle_ms, _) = best(1, || {
        image::imageops::resize(&rgb, w, h, image::imageops::FilterType::Triangle)
    });
    let small = small.to_rgb8();
    let (image_enc_ms, a) = best(3, || {
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85)
            .write_image(small.as_raw(), w, h, image::ExtendedColorType::Rgb8)
            .expect("encode");
        out
    });
    let (jpeg_encoder_ms, b) = best(3, || {
        let mut out = Vec::new();
        jpeg_encoder::Encoder::new(&mut out, 85)
            .encode(small.as_raw(), w as u16, h as u16, jpeg_encoder::ColorType::Rgb)
            .expect("encode");
        out
    });
    println!(
        "{}",
        json!({"decode_ms": decode_ms, "resize_fast_image_resize_ms": fir_ms,
               "resize_imageops_lanczos3_ms": imageops_lanczos_ms,
               "resize_imageops_triangle_ms": imageops_triangle_ms,
               "encode_image_ms": image_enc_ms, "encode_image_bytes": a.len(),
               "encode_jpeg_encoder_ms": jpeg_encoder_ms, "encode_jpeg_encoder_bytes": b.len()})
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |i: usize| Path::new(args.get(i).map(String::as_str).unwrap_or_else(|| usage()));
    match args.get(1).map(String::as_str) {
        Some("make") => make(arg(2)),
        Some("prepare") => prepare(arg(2), arg(3).to_str().unwrap_or(""), arg(4)),
        Some("stages") => stages(arg(2)),
        _ => usage(),
    }
}

fn usage() -> ! {
    eprintln!("usage: oss-direct-photo-bench make OUT.jpg | prepare IN strip|strip-2048 DIR | stages IN");
    std::process::exit(2)
}
