//! Photos prepared on the device (issue 14), checked on what OSS stores: each prepared file is
//! uploaded to a real oss-local with credentials from a real token server and downloaded again.
//! The fixtures are made here: JPEGs encoded with the `image` crate, with an EXIF block (GPS,
//! Orientation, camera make) inserted by bytes.

use image::{DynamicImage, ImageDecoder, ImageEncoder, RgbImage};
use oss_direct::prepare::{prepare_bytes, prepare_file, PrepareLimits, PrepareOptions};
use oss_direct::{Client, ErrorKind, GetOptions, UploadMode, UploadOptions};
use oss_direct_testkit::Stack;
use std::io::Cursor;
use std::path::Path;

// ------------------------------------------------------------------------------- fixtures

/// A big-endian TIFF block: IFD0 with Make and Orientation, and a GPS IFD (N 48°51′, E 2°21′)
/// when `gps`.
fn exif_tiff(orientation: u16, gps: bool) -> Vec<u8> {
    fn entry(t: &mut Vec<u8>, tag: u16, kind: u16, count: u32, value: [u8; 4]) {
        t.extend_from_slice(&tag.to_be_bytes());
        t.extend_from_slice(&kind.to_be_bytes());
        t.extend_from_slice(&count.to_be_bytes());
        t.extend_from_slice(&value);
    }
    let n = 2 + u32::from(gps);
    let make_off = 8 + 2 + 12 * n + 4;
    let gps_off = make_off + 8;
    let lat_off = gps_off + 2 + 12 * 4 + 4;
    let lon_off = lat_off + 24;
    let mut t = b"MM\0*\0\0\0\x08".to_vec();
    t.extend_from_slice(&(n as u16).to_be_bytes());
    entry(&mut t, 0x010F, 2, 8, make_off.to_be_bytes());
    let o = orientation.to_be_bytes();
    entry(&mut t, 0x0112, 3, 1, [o[0], o[1], 0, 0]);
    if gps {
        entry(&mut t, 0x8825, 4, 1, gps_off.to_be_bytes());
    }
    t.extend_from_slice(&0u32.to_be_bytes());
    t.extend_from_slice(b"Phone7\0\0");
    if gps {
        t.extend_from_slice(&4u16.to_be_bytes());
        entry(&mut t, 0x0001, 2, 2, *b"N\0\0\0");
        entry(&mut t, 0x0002, 5, 3, lat_off.to_be_bytes());
        entry(&mut t, 0x0003, 2, 2, *b"E\0\0\0");
        entry(&mut t, 0x0004, 5, 3, lon_off.to_be_bytes());
        t.extend_from_slice(&0u32.to_be_bytes());
        for (num, den) in [
            (48u32, 1u32),
            (51, 1),
            (2400, 100),
            (2, 1),
            (21, 1),
            (300, 100),
        ] {
            t.extend_from_slice(&num.to_be_bytes());
            t.extend_from_slice(&den.to_be_bytes());
        }
    }
    t
}

/// `jpeg` with an APP1 Exif segment right after SOI.
fn with_exif(jpeg: &[u8], tiff: &[u8]) -> Vec<u8> {
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((tiff.len() + 8) as u16).to_be_bytes());
    out.extend_from_slice(b"Exif\0\0");
    out.extend_from_slice(tiff);
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// A photo-like picture (gradients and grain) with a pure red 10% block in its stored
/// top-left corner, to see where that corner ends up.
fn picture(w: u32, h: u32) -> RgbImage {
    let mut x: u32 = 0x9E37_79B9;
    RgbImage::from_fn(w, h, |px, py| {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        if px < w / 10 && py < h / 10 {
            return image::Rgb([255, 0, 0]);
        }
        let grain = (x % 24) as u8;
        image::Rgb([
            grain,
            (px * 200 / w) as u8 + grain,
            (py * 200 / h) as u8 + grain,
        ])
    })
}

fn encode_jpeg(img: &RgbImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
        .write_image(
            img.as_raw(),
            img.width(),
            img.height(),
            image::ExtendedColorType::Rgb8,
        )
        .unwrap();
    out
}

fn decode(bytes: &[u8]) -> DynamicImage {
    image::load_from_memory(bytes).unwrap()
}

fn is_red(p: image::Rgb<u8>) -> bool {
    p[0] > 200 && p[1] < 70 && p[2] < 70
}

fn has_gps(bytes: &[u8]) -> bool {
    exif::Reader::new()
        .read_from_container(&mut Cursor::new(bytes))
        .map(|e| e.fields().any(|f| f.tag.context() == exif::Context::Gps))
        .unwrap_or(false)
}

fn strip() -> PrepareOptions {
    PrepareOptions {
        strip_metadata: true,
        ..Default::default()
    }
}

async fn client(stack: &Stack) -> Client {
    stack.settings().connect(None).await.unwrap().client
}

/// Uploads `path` as `key` and returns what OSS stores.
async fn round_trip(client: &Client, key: &str, path: &Path) -> Vec<u8> {
    let opts = UploadOptions {
        mode: UploadMode::Simple,
        ..Default::default()
    };
    client.upload_file(key, path, opts).await.unwrap();
    client
        .get_object(key, &GetOptions::default())
        .await
        .unwrap()
        .to_vec()
}

// ---------------------------------------------------------------------------------- tests

#[tokio::test]
async fn sideways_gps_photo_at_2048_is_stored_upright_smaller_and_without_gps() {
    let stack = Stack::start().await;
    let dir = tempfile::tempdir().unwrap();
    let original = with_exif(&encode_jpeg(&picture(4000, 3000), 95), &exif_tiff(6, true));
    assert!(has_gps(&original), "the fixture has GPS");
    let src = dir.path().join("IMG_0001.jpg");
    std::fs::write(&src, &original).unwrap();

    let options = PrepareOptions {
        strip_metadata: true,
        max_edge: Some(2048),
        ..Default::default()
    };
    let cache = dir.path().join("cache");
    let prepared = tokio::task::spawn_blocking({
        let (src, cache) = (src.clone(), cache.clone());
        move || prepare_file(&src, &cache, &options)
    })
    .await
    .unwrap()
    .unwrap();
    let r = &prepared.report;
    assert!(prepared.is_copy && prepared.path.starts_with(&cache));
    assert_eq!(r.original_dimensions, Some((4000, 3000)));
    assert_eq!(r.prepared_dimensions, Some((1536, 2048)));
    assert_eq!(r.orientation_applied, Some(6));
    assert!(r.reencoded && r.removed.location && r.removed.camera);
    assert!(
        r.summary().contains("location, camera data removed"),
        "{}",
        r.summary()
    );

    let stored = round_trip(
        &client(&stack).await,
        "uploads/IMG_0001.jpg",
        &prepared.path,
    )
    .await;
    assert_eq!(stored.len() as u64, r.prepared_bytes);
    assert!(
        stored.len() < original.len(),
        "{} >= {}",
        stored.len(),
        original.len()
    );
    assert!(!has_gps(&stored));
    let mut decoder = image::codecs::jpeg::JpegDecoder::new(Cursor::new(&stored)).unwrap();
    assert!(decoder.exif_metadata().unwrap().is_none(), "no EXIF left");
    assert_eq!(
        decoder.orientation().unwrap(),
        image::metadata::Orientation::NoTransforms
    );
    let img = decode(&stored).to_rgb8();
    assert_eq!(img.dimensions(), (1536, 2048));
    // Orientation 6 shows the stored top-left corner at the top right: the pixels now are.
    assert!(is_red(*img.get_pixel(1536 - 40, 40)), "top right is red");
    assert!(!is_red(*img.get_pixel(40, 40)), "top left is not");
    assert_eq!(std::fs::read(&src).unwrap(), original, "original untouched");
    prepared.remove().unwrap();
    assert!(!prepared.path.exists() && src.exists());
}

#[tokio::test]
async fn strip_only_jpeg_keeps_the_pixels_bit_identical() {
    let stack = Stack::start().await;
    let dir = tempfile::tempdir().unwrap();
    let clean = encode_jpeg(&picture(1200, 900), 90);
    let original = with_exif(&clean, &exif_tiff(1, true));
    let src = dir.path().join("beach.jpg");
    std::fs::write(&src, &original).unwrap();

    let prepared = prepare_file(&src, &dir.path().join("cache"), &strip()).unwrap();
    let r = &prepared.report;
    assert!(!r.reencoded && r.changed && r.removed.location && r.removed.camera);
    assert_eq!(r.orientation_applied, None);

    let stored = round_trip(&client(&stack).await, "uploads/beach.jpg", &prepared.path).await;
    // Exactly the file before the EXIF segment was put in: same segments, same scan bytes.
    assert_eq!(stored, clean);
    assert!(!has_gps(&stored));
    assert_eq!(
        decode(&stored),
        decode(&original),
        "decoded pixels are identical"
    );
}

#[tokio::test]
async fn png_text_chunks_are_removed_and_the_pixels_kept() {
    let stack = Stack::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut png = Vec::new();
    image::codecs::png::PngEncoder::new(&mut png)
        .write_image(
            picture(300, 200).as_raw(),
            300,
            200,
            image::ExtendedColorType::Rgb8,
        )
        .unwrap();
    let plain = png.clone();
    // tEXt (a location in words) and an iTXt XMP packet before IDAT.
    let idat = png.windows(4).position(|w| w == b"IDAT").unwrap() - 4;
    let mut extra = Vec::new();
    for (kind, body) in [
        (&b"tEXt"[..], &b"Comment\0Taken at 48.85N 2.35E"[..]),
        (b"iTXt", b"XML:com.adobe.xmp\0\0\0\0\0<x:xmpmeta/>"),
    ] {
        extra.extend_from_slice(&(body.len() as u32).to_be_bytes());
        let mut crc_input = kind.to_vec();
        crc_input.extend_from_slice(body);
        extra.extend_from_slice(&crc_input);
        extra.extend_from_slice(&crc32(&crc_input).to_be_bytes());
    }
    png.splice(idat..idat, extra);
    assert!(
        decode(&png).as_bytes() == decode(&plain).as_bytes(),
        "valid fixture"
    );
    let src = dir.path().join("scan.png");
    std::fs::write(&src, &png).unwrap();

    let prepared = prepare_file(&src, &dir.path().join("cache"), &strip()).unwrap();
    assert!(prepared.report.removed.text && prepared.report.removed.xmp);
    assert!(!prepared.report.reencoded);
    let stored = round_trip(&client(&stack).await, "uploads/scan.png", &prepared.path).await;
    assert_eq!(stored, plain);
}

/// CRC-32 (PNG's), bitwise: fixtures only.
fn crc32(data: &[u8]) -> u32 {
    let mut c = 0xFFFF_FFFFu32;
    for &b in data {
        c ^= u32::from(b);
        for _ in 0..8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
    }
    !c
}

#[tokio::test]
async fn heic_passes_through_unchanged() {
    let stack = Stack::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut heic = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic".to_vec();
    heic.extend((0..5000u32).map(|i| (i * 7) as u8));
    let src = dir.path().join("IMG_0002.HEIC");
    std::fs::write(&src, &heic).unwrap();
    let cache = dir.path().join("cache");
    let options = PrepareOptions {
        strip_metadata: true,
        max_edge: Some(1280),
        quality: Some(80),
        ..Default::default()
    };
    let prepared = prepare_file(&src, &cache, &options).unwrap();
    assert!(!prepared.is_copy);
    assert_eq!(prepared.path, src);
    assert_eq!(
        prepared.report.summary(),
        "uploaded unchanged (HEIC cannot be decoded here)"
    );
    assert!(!cache.exists(), "nothing written");
    let stored = round_trip(
        &client(&stack).await,
        "uploads/IMG_0002.HEIC",
        &prepared.path,
    )
    .await;
    assert_eq!(stored, heic);
    prepared.remove().unwrap();
    assert!(src.exists(), "remove() never deletes the original");
}

#[test]
fn truncated_jpeg_is_a_clear_error_and_the_original_is_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let full = with_exif(&encode_jpeg(&picture(640, 480), 90), &exif_tiff(6, true));
    let cut = full[..full.len() * 6 / 10].to_vec();
    let src = dir.path().join("cut.jpg");
    std::fs::write(&src, &cut).unwrap();
    let cache = dir.path().join("cache");
    for options in [
        strip(),
        PrepareOptions {
            max_edge: Some(320),
            ..Default::default()
        },
    ] {
        let e = prepare_file(&src, &cache, &options).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Image);
        assert!(e.to_string().contains("truncated"), "{e}");
        assert!(e.to_string().contains("JPEG"), "{e}");
    }
    assert_eq!(std::fs::read(&src).unwrap(), cut, "original untouched");
    assert!(!cache.exists(), "no prepared file left behind");
}

#[test]
fn oversized_images_are_refused_before_any_pixel_is_decoded() {
    // A PNG whose header claims 60000 × 60000 (3.6 gigapixels, ~10 GB of RGB).
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend_from_slice(&60000u32.to_be_bytes());
    ihdr.extend_from_slice(&60000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    png.extend_from_slice(&13u32.to_be_bytes());
    png.extend_from_slice(&ihdr);
    png.extend_from_slice(&crc32(&ihdr).to_be_bytes());
    for kind in [&b"IDAT"[..], b"IEND"] {
        png.extend_from_slice(&0u32.to_be_bytes());
        png.extend_from_slice(kind);
        png.extend_from_slice(&crc32(kind).to_be_bytes());
    }
    let e = prepare_bytes(&png, &strip()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Image);
    assert!(e.to_string().contains("limit"), "{e}");

    // A real JPEG over small limits.
    let jpeg = encode_jpeg(&picture(400, 300), 80);
    let small = PrepareOptions {
        max_edge: Some(100),
        limits: PrepareLimits {
            max_pixels: 100 * 100,
            ..Default::default()
        },
        ..Default::default()
    };
    let e = prepare_bytes(&jpeg, &small).unwrap_err();
    assert!(
        e.to_string().contains("400×300 pixels is over the limit"),
        "{e}"
    );
    let tiny_input = PrepareOptions {
        limits: PrepareLimits {
            max_input_bytes: 1000,
            ..Default::default()
        },
        ..strip()
    };
    assert_eq!(
        prepare_bytes(&jpeg, &tiny_input).unwrap_err().kind(),
        ErrorKind::Image
    );
}

#[test]
fn preparing_again_finds_the_same_file_so_a_resumable_upload_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("IMG_0003.jpg");
    let original = with_exif(&encode_jpeg(&picture(800, 600), 90), &exif_tiff(1, true));
    std::fs::write(&src, &original).unwrap();
    let cache = dir.path().join("cache");
    let a = prepare_file(&src, &cache, &strip()).unwrap();
    let mtime = std::fs::metadata(&a.path).unwrap().modified().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    let b = prepare_file(&src, &cache, &strip()).unwrap();
    assert_eq!(a.path, b.path);
    assert_eq!(
        std::fs::metadata(&b.path).unwrap().modified().unwrap(),
        mtime
    );
    // Other options, another file.
    let smaller = PrepareOptions {
        max_edge: Some(400),
        ..strip()
    };
    let c = prepare_file(&src, &cache, &smaller).unwrap();
    assert_ne!(a.path, c.path);
    assert_eq!(std::fs::read_dir(&cache).unwrap().count(), 2);
}

#[test]
fn without_strip_a_resize_keeps_exif_with_the_orientation_reset() {
    let original = with_exif(&encode_jpeg(&picture(1000, 800), 90), &exif_tiff(6, true));
    let options = PrepareOptions {
        max_edge: Some(500),
        quality: Some(70),
        ..Default::default()
    };
    let out = prepare_bytes(&original, &options).unwrap();
    let data = out.data.unwrap();
    assert_eq!(out.report.prepared_dimensions, Some((400, 500)));
    assert!(!out.report.removed.location, "not asked to remove it");
    assert!(has_gps(&data), "GPS kept when not asked to strip");
    let mut decoder = image::codecs::jpeg::JpegDecoder::new(Cursor::new(&data)).unwrap();
    assert_eq!(
        decoder.orientation().unwrap(),
        image::metadata::Orientation::NoTransforms
    );
    assert!(is_red(*decode(&data).to_rgb8().get_pixel(400 - 10, 10)));
}

#[test]
fn webp_metadata_chunks_are_dropped_losslessly() {
    let mut webp = Vec::new();
    let mut enc = image::codecs::webp::WebPEncoder::new_lossless(&mut webp);
    enc.set_exif_metadata(exif_tiff(1, true)).unwrap();
    enc.write_image(
        picture(200, 100).as_raw(),
        200,
        100,
        image::ExtendedColorType::Rgb8,
    )
    .unwrap();
    assert!(webp.windows(4).any(|w| w == b"EXIF"), "fixture has EXIF");
    let out = prepare_bytes(&webp, &strip()).unwrap();
    let data = out.data.unwrap();
    assert!(out.report.removed.location && !out.report.reencoded);
    assert!(!data.windows(4).any(|w| w == b"EXIF"));
    assert_eq!(decode(&data), decode(&webp));
    // Nothing left to strip: unchanged.
    assert!(prepare_bytes(&data, &strip()).unwrap().data.is_none());
}

#[test]
fn options_that_change_nothing_upload_the_original() {
    let jpeg = with_exif(&encode_jpeg(&picture(300, 200), 90), &exif_tiff(6, true));
    let out = prepare_bytes(&jpeg, &PrepareOptions::default()).unwrap();
    assert!(out.data.is_none() && !out.report.changed);
    // A long edge already below the maximum, no strip: nothing to do either.
    let big_edge = PrepareOptions {
        max_edge: Some(2048),
        ..Default::default()
    };
    assert!(prepare_bytes(&jpeg, &big_edge).unwrap().data.is_none());
}

/// Writes the seeds of the `prepare` fuzz target (fuzz/seeds/prepare): small JPEG, PNG and
/// WebP files with metadata, each behind a first byte that picks the options (see
/// fuzz/fuzz_targets/prepare.rs). Run by hand:
/// `cargo test -p oss-direct --test prepare_photos write_fuzz_seeds -- --ignored`.
#[test]
#[ignore]
fn write_fuzz_seeds() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds/prepare");
    std::fs::create_dir_all(&dir).unwrap();
    let small = picture(24, 16);
    let jpeg = with_exif(&encode_jpeg(&small, 80), &exif_tiff(6, true));
    let upright = with_exif(&encode_jpeg(&small, 80), &exif_tiff(1, true));
    let mut png = Vec::new();
    let mut enc = image::codecs::png::PngEncoder::new(&mut png);
    enc.set_exif_metadata(exif_tiff(1, true)).unwrap();
    enc.write_image(small.as_raw(), 24, 16, image::ExtendedColorType::Rgb8)
        .unwrap();
    let mut webp = Vec::new();
    let mut enc = image::codecs::webp::WebPEncoder::new_lossless(&mut webp);
    enc.set_exif_metadata(exif_tiff(3, true)).unwrap();
    enc.write_image(small.as_raw(), 24, 16, image::ExtendedColorType::Rgb8)
        .unwrap();
    // flags: bit 0 strip, bit 1 max edge ((flags >> 4) * 8 + 1), bit 2 quality.
    for (name, flags, body) in [
        ("jpeg-strip", 0b0001u8, &upright),
        ("jpeg-sideways-strip", 0b0001, &jpeg),
        ("jpeg-resize-9", 0b0001_0011, &jpeg),
        ("jpeg-quality", 0b0101_0100, &upright),
        ("png-strip", 0b0001, &png),
        ("png-resize", 0b0001_0011, &png),
        ("webp-strip", 0b0001, &webp),
        ("webp-resize", 0b0001_0011, &webp),
    ] {
        let mut seed = vec![flags];
        seed.extend_from_slice(body);
        assert!(
            seed.len() < 8192,
            "{name}: libFuzzer runs with -max_len=8192"
        );
        std::fs::write(dir.join(name), seed).unwrap();
    }
}
