//! IMG: output dimensions of each resize mode (decoded), watermark pixels, format, info, errors.

mod common;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use common::*;
use oss_local::DEMO_BUCKET as B;

fn png(w: u32, h: u32, color: [u8; 3]) -> Vec<u8> {
    let img = image::RgbImage::from_pixel(w, h, image::Rgb(color));
    let mut out = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

async fn get_processed(run: &oss_local::Running, c: &Creds, key: &str, process: &str) -> Resp {
    send(
        run,
        Req::new("GET", B, Some(key)).query(&[("x-oss-process", process)]),
        c,
        Sig::V4,
    )
    .await
}

#[tokio::test]
async fn resize_modes_produce_the_documented_sizes() {
    let dir = tempfile::tempdir().unwrap();
    let run = start(dir.path()).await;
    let c = assume_role(&run, &[]).await;
    let r = send(
        &run,
        Req::new("PUT", B, Some("img/src.png")).body(png(400, 200, [0, 128, 255])),
        &c,
        Sig::V4,
    )
    .await;
    assert_eq!(r.status, 200);
    for (p, want) in [
        ("image/resize,w_100", (100, 50)),
        ("image/resize,m_lfit,w_100,h_100", (100, 50)),
        ("image/resize,m_mfit,w_100,h_100", (200, 100)),
        ("image/resize,m_fill,w_100,h_100", (100, 100)),
        ("image/resize,m_pad,w_100,h_100", (100, 100)),
        ("image/resize,m_fixed,w_100,h_30", (100, 30)),
        ("image/resize,l_100", (100, 50)),
        ("image/resize,s_100", (200, 100)),
        ("image/resize,w_1000", (400, 200)),
        ("image/resize,w_1000,limit_0", (1000, 500)),
    ] {
        let r = get_processed(&run, &c, "img/src.png", p).await;
        assert_eq!(r.status, 200, "{p}: {}", r.text());
        let img = image::load_from_memory(&r.body).unwrap();
        assert_eq!((img.width(), img.height()), want, "{p}");
    }
    // m_pad fills the bands with the pad colour (white by default).
    let r = get_processed(&run, &c, "img/src.png", "image/resize,m_pad,w_100,h_100").await;
    let img = image::load_from_memory(&r.body).unwrap().to_rgb8();
    assert_eq!(img.get_pixel(50, 2).0, [255, 255, 255]);
    assert_eq!(img.get_pixel(50, 50).0, [0, 128, 255]);

    let r = get_processed(&run, &c, "img/src.png", "image/resize,w_100/format,jpg").await;
    assert_eq!(r.header("content-type"), "image/jpeg");
    assert_eq!(
        image::guess_format(&r.body).unwrap(),
        image::ImageFormat::Jpeg
    );
    let r = get_processed(&run, &c, "img/src.png", "image/format,webp").await;
    assert_eq!(
        image::guess_format(&r.body).unwrap(),
        image::ImageFormat::WebP
    );
    let r = get_processed(&run, &c, "img/src.png", "image/format,jpg/quality,q_30").await;
    assert_eq!(r.status, 200);

    let r = get_processed(&run, &c, "img/src.png", "image/info").await;
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v["ImageWidth"]["value"], "400");
    assert_eq!(v["ImageHeight"]["value"], "200");
    assert_eq!(v["Format"]["value"], "png");
    assert!(
        v["FileSize"]["value"]
            .as_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            > 0
    );

    for bad in [
        "image/resize,w_0",
        "image/resize,m_zoom,w_10",
        "image/resize,w_abc",
        "image/rotate,90",
        "image/format,tiff",
    ] {
        let r = get_processed(&run, &c, "img/src.png", bad).await;
        assert_eq!(
            (r.status, r.code()),
            (400, "InvalidArgument".into()),
            "{bad}"
        );
    }
    let r = get_processed(&run, &c, "img/src.png", "image/watermark,text_!!!").await;
    assert_eq!((r.status, r.code()), (400, "BadRequest".into()));
    run.shutdown().await;
}

#[tokio::test]
async fn watermarks_change_the_expected_corner() {
    let dir = tempfile::tempdir().unwrap();
    let run = start(dir.path()).await;
    let c = Creds::user();
    send(
        &run,
        Req::new("PUT", B, Some("w.png")).body(png(300, 200, [255, 255, 255])),
        &c,
        Sig::V1,
    )
    .await;
    send(
        &run,
        Req::new("PUT", B, Some("logo.png")).body(png(20, 20, [0, 0, 0])),
        &c,
        Sig::V1,
    )
    .await;
    let text = URL_SAFE_NO_PAD.encode("oss-local");
    let dark = |img: &image::RgbImage, x0: u32, y0: u32, x1: u32, y1: u32| {
        (x0..x1)
            .flat_map(|x| (y0..y1).map(move |y| (x, y)))
            .filter(|&(x, y)| img.get_pixel(x, y).0[1] < 128)
            .count()
    };
    let r = get_processed(
        &run,
        &c,
        "w.png",
        &format!("image/watermark,text_{text},size_30,color_FF0000,g_se,x_10,y_10"),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let img = image::load_from_memory(&r.body).unwrap().to_rgb8();
    assert_eq!((img.width(), img.height()), (300, 200));
    assert!(
        dark(&img, 150, 140, 300, 200) > 50,
        "text ink in the bottom-right corner"
    );
    assert_eq!(dark(&img, 0, 0, 150, 100), 0, "top-left untouched");
    let red = img
        .pixels()
        .filter(|p| p.0[0] > 200 && p.0[1] < 80 && p.0[2] < 80)
        .count();
    assert!(red > 20, "the ink is red");

    let r = get_processed(
        &run,
        &c,
        "w.png",
        &format!("image/watermark,text_{text},g_nw"),
    )
    .await;
    let img = image::load_from_memory(&r.body).unwrap().to_rgb8();
    assert!(dark(&img, 0, 0, 150, 100) > 50);
    assert_eq!(dark(&img, 150, 100, 300, 200), 0);

    let logo = URL_SAFE_NO_PAD.encode("logo.png");
    let r = get_processed(
        &run,
        &c,
        "w.png",
        &format!("image/watermark,image_{logo},g_ne,x_5,y_5"),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let img = image::load_from_memory(&r.body).unwrap().to_rgb8();
    assert_eq!(img.get_pixel(300 - 5 - 10, 15).0, [0, 0, 0]);
    assert_eq!(img.get_pixel(10, 190).0, [255, 255, 255]);
    assert_eq!(dark(&img, 0, 0, 300, 200), 400, "exactly the 20x20 logo");

    let missing = URL_SAFE_NO_PAD.encode("nope.png");
    let r = get_processed(
        &run,
        &c,
        "w.png",
        &format!("image/watermark,image_{missing}"),
    )
    .await;
    assert_eq!((r.status, r.code()), (400, "WatermarkError".into()));
    run.shutdown().await;
}

fn gray_png(w: u32, h: u32) -> Vec<u8> {
    let img = image::GrayImage::from_pixel(w, h, image::Luma([128]));
    let mut out = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

/// A PNG whose header claims `w` x `h` pixels, with a tiny (wrong) IDAT: a decompression-bomb
/// shape the decoder must refuse from the header alone.
fn png_claiming(w: u32, h: u32) -> Vec<u8> {
    let mut real = gray_png(1, 1);
    // IHDR data starts at byte 16: width, height (big-endian); fix the CRC after it.
    real[16..20].copy_from_slice(&w.to_be_bytes());
    real[20..24].copy_from_slice(&h.to_be_bytes());
    let crc = crc32(&real[12..29]);
    real[29..33].copy_from_slice(&crc.to_be_bytes());
    real
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut c = 0xFFFF_FFFFu32;
    for &b in bytes {
        c ^= b as u32;
        for _ in 0..8 {
            c = if c & 1 == 1 {
                (c >> 1) ^ 0xEDB8_8320
            } else {
                c >> 1
            };
        }
    }
    !c
}

/// Issue 11, item 3: `m_fill` on a 1x16384 image with `w_4096,h_1,limit_0` used to plan a
/// 4096 x 67,108,864 intermediate (275 GB) whose allocation aborted the whole process. Now the
/// source is cropped first, so the answer is the 4096x1 image OSS gives, and oversized requests
/// of every other kind are a 400 while the server stays up.
#[tokio::test]
async fn oversized_image_requests_are_refused_and_never_abort_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let run = start(dir.path()).await;
    let c = Creds::user();
    let put = |key: &'static str, body: Vec<u8>| {
        let run = &run;
        let c = &c;
        async move {
            let r = send(run, Req::new("PUT", B, Some(key)).body(body), c, Sig::V1).await;
            assert_eq!(r.status, 200, "{key}: {}", r.text());
        }
    };
    put("tall.png", gray_png(1, 16384)).await;
    let r = get_processed(
        &run,
        &c,
        "tall.png",
        "image/resize,m_fill,w_4096,h_1,limit_0",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let img = image::load_from_memory(&r.body).unwrap();
    assert_eq!((img.width(), img.height()), (4096, 1));

    // Every other way of asking for too much is a 400 with an OSS code.
    let (text, tall) = (
        URL_SAFE_NO_PAD.encode("x"),
        URL_SAFE_NO_PAD.encode("tall.png"),
    );
    for (process, code) in [
        ("image/resize,m_pad,w_4096,limit_0", "InvalidArgument"),
        (
            "image/resize,m_mfit,w_4096,h_4096,limit_0",
            "InvalidArgument",
        ),
        ("image/resize,p_1000,limit_0", "InvalidArgument"),
        (
            "image/resize,m_fixed,w_16384,h_16384,limit_0",
            "InvalidArgument",
        ),
        (
            &*format!("image/watermark,image_{tall},g_nw"),
            "WatermarkError",
        ),
        (
            &*format!("image/{}", ["resize,w_1"; 40].join("/")),
            "InvalidArgument",
        ),
        (
            &*format!("image/watermark,text_{text}/").repeat(30),
            "InvalidArgument",
        ),
    ] {
        let r = get_processed(&run, &c, "tall.png", process).await;
        assert_eq!((r.status, r.code()), (400, code.to_string()), "{process}");
    }

    // A header claiming 60000 x 60000 pixels is refused before anything is decoded.
    put("bomb.png", png_claiming(60_000, 60_000)).await;
    for process in ["image/resize,w_10", "image/info", "image/format,jpg"] {
        let r = get_processed(&run, &c, "bomb.png", process).await;
        assert_eq!(
            (r.status, r.code()),
            (400, "ImageTooLarge".into()),
            "{process}"
        );
    }
    // ... also as a watermark.
    put("small.png", gray_png(50, 50)).await;
    let bomb = URL_SAFE_NO_PAD.encode("bomb.png");
    let r = get_processed(
        &run,
        &c,
        "small.png",
        &format!("image/watermark,image_{bomb}"),
    )
    .await;
    assert_eq!((r.status, r.code()), (400, "WatermarkError".into()));

    // Duplicates are applied once: the same resize twice is one resize.
    let r = get_processed(&run, &c, "small.png", "image/resize,w_10/resize,w_10").await;
    assert_eq!(r.status, 200, "{}", r.text());

    // Still alive, still answering.
    let r = get_processed(&run, &c, "small.png", "image/resize,w_20").await;
    assert_eq!(r.status, 200);
    assert_eq!(image::load_from_memory(&r.body).unwrap().width(), 20);
    run.shutdown().await;
}
