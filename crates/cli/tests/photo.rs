//! `oss-direct upload --strip-metadata --max-edge N --quality Q` against the offline stack: what
//! OSS stores, the JSON line's sizes, the prepared copy removed, the original untouched; and
//! without the flags the bytes go up as they are.

use image::ImageEncoder;
use oss_direct_testkit::Stack;
use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_oss-direct");

async fn run(args: &[&str]) -> Output {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || Command::new(BIN).args(&args).output().unwrap())
        .await
        .unwrap()
}

fn json(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The first line: the (first) file's; a summary line follows.
    let first = out.stdout.split(|b| *b == b'\n').next().unwrap_or_default();
    serde_json::from_slice(first).unwrap()
}

/// A 400×300 JPEG with an EXIF block holding a GPS position (IFD0 → GPS IFD with GPSLatitudeRef).
fn photo_with_gps() -> (Vec<u8>, Vec<u8>) {
    let img = image::RgbImage::from_fn(400, 300, |x, y| image::Rgb([x as u8, y as u8, 90]));
    let mut clean = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut clean, 92)
        .write_image(img.as_raw(), 400, 300, image::ExtendedColorType::Rgb8)
        .unwrap();
    let mut tiff = b"MM\0*\0\0\0\x08\0\x01".to_vec();
    tiff.extend_from_slice(&[0x88, 0x25, 0, 4, 0, 0, 0, 1, 0, 0, 0, 26, 0, 0, 0, 0]);
    tiff.extend_from_slice(&[0, 1, 0, 1, 0, 2, 0, 0, 0, 2, b'N', 0, 0, 0, 0, 0, 0, 0]);
    let mut with = clean[..2].to_vec();
    with.extend_from_slice(&[0xFF, 0xE1]);
    with.extend_from_slice(&((tiff.len() + 8) as u16).to_be_bytes());
    with.extend_from_slice(b"Exif\0\0");
    with.extend_from_slice(&tiff);
    with.extend_from_slice(&clean[2..]);
    (with, clean)
}

fn has_exif(bytes: &[u8]) -> bool {
    bytes.windows(6).any(|w| w == b"Exif\0\0")
}

async fn get(stack: &Stack, key: &str, dest: &Path) -> Vec<u8> {
    let out = run(&[
        "get",
        key,
        "--server",
        &stack.token_url,
        "-o",
        dest.to_str().unwrap(),
    ])
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read(dest).unwrap()
}

#[tokio::test]
async fn photo_flags_prepare_before_upload_and_clean_up_after() {
    let stack = Stack::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (original, clean) = photo_with_gps();
    let src = dir.path().join("trip.jpg");
    std::fs::write(&src, &original).unwrap();
    let cache = dir.path().join("prepared");
    let server = stack.token_url.as_str();
    let src_arg = src.to_str().unwrap();
    let cache_arg = cache.to_str().unwrap();

    // Strip only: the stored file is the original without its EXIF segment, byte for byte.
    let out = json(
        &run(&[
            "upload",
            src_arg,
            "--server",
            server,
            "--json",
            "--strip-metadata",
            "--prepared-dir",
            cache_arg,
        ])
        .await,
    );
    assert_eq!(out["key"], "uploads/trip.jpg");
    let p = &out["prepared"];
    assert_eq!(p["original_bytes"], original.len());
    assert_eq!(p["prepared_bytes"], clean.len());
    assert_eq!(out["bytes"], clean.len());
    assert_eq!(p["removed"], serde_json::json!(["location"]));
    assert_eq!(p["reencoded"], false);
    assert_eq!(
        get(&stack, "uploads/trip.jpg", &dir.path().join("a.jpg")).await,
        clean
    );
    assert_eq!(
        std::fs::read_dir(&cache).unwrap().count(),
        0,
        "copy removed"
    );

    // Smaller too.
    let out = json(
        &run(&[
            "upload",
            src_arg,
            "--server",
            server,
            "--json",
            "--strip-metadata",
            "--max-edge",
            "100",
            "--quality",
            "70",
            "--prepared-dir",
            cache_arg,
            "--key",
            "uploads/trip-small.jpg",
        ])
        .await,
    );
    assert_eq!(
        out["prepared"]["prepared_dimensions"],
        serde_json::json!([100, 75])
    );
    let stored = get(&stack, "uploads/trip-small.jpg", &dir.path().join("b.jpg")).await;
    assert_eq!(image::load_from_memory(&stored).unwrap().width(), 100);
    assert!(!has_exif(&stored));
    assert_eq!(out["prepared"]["prepared_bytes"], stored.len());
    assert_eq!(
        std::fs::read_dir(&cache).unwrap().count(),
        0,
        "copy removed"
    );
    assert_eq!(std::fs::read(&src).unwrap(), original, "original untouched");

    // Without the flags the bytes go up as they are, EXIF and all.
    let out = json(
        &run(&[
            "upload",
            src_arg,
            "--server",
            server,
            "--json",
            "--key",
            "uploads/trip-raw.jpg",
        ])
        .await,
    );
    assert!(out["prepared"].is_null());
    let stored = get(&stack, "uploads/trip-raw.jpg", &dir.path().join("c.jpg")).await;
    assert_eq!(stored, original);
}

#[tokio::test]
async fn a_truncated_photo_fails_with_one_line_and_nothing_uploaded() {
    let stack = Stack::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (original, _) = photo_with_gps();
    let src = dir.path().join("cut.jpg");
    let cut = &original[..original.len() / 2];
    std::fs::write(&src, cut).unwrap();
    let out = run(&[
        "upload",
        src.to_str().unwrap(),
        "--server",
        &stack.token_url,
        "--strip-metadata",
        "--prepared-dir",
        dir.path().join("prepared").to_str().unwrap(),
    ])
    .await;
    assert_eq!(out.status.code(), Some(3), "bad input");
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.contains("cut.jpg") && err.contains("truncated"),
        "{err}"
    );
    assert_eq!(std::fs::read(&src).unwrap(), cut);
    let gone = run(&[
        "get",
        "uploads/cut.jpg",
        "--server",
        &stack.token_url,
        "-o",
        "/dev/null",
    ])
    .await;
    assert!(!gone.status.success(), "nothing was uploaded");
}
