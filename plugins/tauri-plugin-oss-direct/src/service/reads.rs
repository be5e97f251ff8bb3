//! What is read back: previews made by OSS image processing, signed URLs, the app server's
//! recorded uploads with thumbnails, downloads of originals.

use super::{data_url, OssDirect};
use crate::error::{Error, Result};
use crate::models::*;
use oss_direct::process::{Gravity, ImageProcess, Resize, ResizeMode, TextWatermark};
use oss_direct::GetOptions;
use std::path::Path;
use std::time::Duration;

/// Width of the result screen's thumbnail.
pub const THUMBNAIL_WIDTH: u32 = 240;
/// The thumbnail's `x-oss-process`.
pub fn thumbnail_process() -> String {
    ImageProcess::new()
        .resize(Resize::new(ResizeMode::Lfit).width(THUMBNAIL_WIDTH))
        .to_string()
}
/// The watermarked preview's `x-oss-process`.
pub fn watermark_process(text: &str) -> String {
    let text = if text.trim().is_empty() {
        "oss-direct"
    } else {
        text.trim()
    };
    ImageProcess::new()
        .resize(Resize::new(ResizeMode::Lfit).width(640))
        .watermark(
            TextWatermark::new(text)
                .size(28)
                .color("FFFFFF")
                .gravity(Gravity::SouthEast)
                .offset(16, 16),
        )
        .to_string()
}

impl OssDirect {
    /// Thumbnail and watermark made by OSS image processing, and a signed link.
    pub async fn previews(&self, key: &str) -> Result<Previews> {
        let settings = self.settings();
        let conn = self.connect().await?;
        let thumb = thumbnail_process();
        let mark = watermark_process(&settings.watermark_text);
        let get = |process: String| {
            let client = conn.client.clone();
            let key = key.to_string();
            async move {
                client
                    .get_object(
                        &key,
                        &GetOptions {
                            range: None,
                            process: Some(process),
                        },
                    )
                    .await
            }
        };
        let (t, w) = tokio::join!(get(thumb.clone()), get(mark.clone()));
        let signed = conn
            .client
            .presign_get(key, Duration::from_secs(3600), None)
            .await
            .ok();
        let error = t.as_ref().err().or(w.as_ref().err()).map(|e| {
            if e.code() == Some("AccessDenied") {
                "No preview: the token does not allow reading this object (the read-write policy does).".to_string()
            } else {
                format!("No preview: {e}")
            }
        });
        Ok(Previews {
            thumbnail: t.ok().map(|b| data_url(&b)),
            watermarked: w.ok().map(|b| data_url(&b)),
            signed_url: signed,
            thumbnail_process: thumb,
            watermark_process: mark,
            error,
        })
    }

    /// "My uploads": what the app server recorded from upload callbacks, with thumbnails made
    /// by OSS image processing and passed to the UI as bytes (`data:` URLs), so the webview
    /// loads no image from the network.
    pub async fn server_uploads(&self, after: Option<String>) -> Result<ServerUploads> {
        let conn = self.connect().await?;
        let page = conn
            .credentials
            .list_uploads(Some(20), after.as_deref())
            .await?;
        let small = ImageProcess::new()
            .resize(Resize::new(ResizeMode::Fill).width(96).height(96))
            .to_string();
        let mut thumbs = tokio::task::JoinSet::new();
        for (i, upload) in page.uploads.iter().enumerate() {
            let is_image = upload
                .content_type
                .as_deref()
                .is_some_and(|t| t.starts_with("image/"))
                || upload.image_width.is_some();
            if is_image {
                let (client, key, process) =
                    (conn.client.clone(), upload.key.clone(), small.clone());
                thumbs.spawn(async move {
                    let got = client
                        .get_object(
                            &key,
                            &GetOptions {
                                range: None,
                                process: Some(process),
                            },
                        )
                        .await;
                    (i, got.ok().map(|b| data_url(&b)))
                });
            }
        }
        let mut thumbnails = vec![None; page.uploads.len()];
        while let Some(joined) = thumbs.join_next().await {
            if let Ok((i, t)) = joined {
                thumbnails[i] = t;
            }
        }
        let items = page
            .uploads
            .into_iter()
            .zip(thumbnails)
            .map(|(upload, thumbnail)| ServerUpload {
                upload: upload.into(),
                thumbnail,
            })
            .collect();
        Ok(ServerUploads {
            items,
            next_after: page.next_after,
        })
    }

    /// Downloads an object (the original) to `dest`, CRC-checked.
    pub async fn download(&self, key: &str, dest: &Path) -> Result<u64> {
        let conn = self.connect().await?;
        Ok(conn
            .client
            .get_object_to_file(key, dest, &GetOptions::default())
            .await?)
    }

    /// A presigned GET URL of `req.key`, with an `x-oss-process` (e.g. a thumbnail's resize)
    /// when asked, for apps whose webview loads images from OSS directly.
    pub async fn signed_url(&self, req: SignedUrlRequest) -> Result<String> {
        let expires = req.expires_in_secs.unwrap_or(3600);
        if !(1..=MAX_SIGNED_URL_SECS).contains(&expires) {
            return Err(Error::Invalid(format!(
                "a signed URL lasts from 1 to {MAX_SIGNED_URL_SECS} seconds"
            )));
        }
        if let Some(p) = &req.process {
            check_process(p)?;
        }
        let conn = self.connect().await?;
        Ok(conn
            .client
            .presign_get(
                &req.key,
                Duration::from_secs(expires),
                req.process.as_deref(),
            )
            .await?)
    }
}

/// The longest a signed URL may last (a day; the STS token it is signed with usually ends
/// sooner, and the URL with it).
pub const MAX_SIGNED_URL_SECS: u64 = 86_400;

/// An `x-oss-process` value from the webview: an `image/...` action list in the characters OSS
/// uses (letters, digits, `/ , _ - = .` and base64url), at most 1 KiB.
fn check_process(p: &str) -> Result<()> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || "/,_-=.".contains(c);
    if p.starts_with("image/") && p.len() <= 1024 && p.chars().all(ok_char) {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "{:?} is not an image process such as image/resize,w_200",
            p.chars().take(80).collect::<String>()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_image_processes_are_signed() {
        assert!(check_process("image/resize,w_200").is_ok());
        assert!(check_process(&watermark_process("héllo wörld")).is_ok());
        for bad in [
            "video/snapshot,t_0",
            "image/resize,w_1&x=1",
            "image/a b",
            "",
        ] {
            assert!(check_process(bad).is_err(), "{bad}");
        }
        assert!(check_process(&format!("image/{}", "a".repeat(1100))).is_err());
    }
}
