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
