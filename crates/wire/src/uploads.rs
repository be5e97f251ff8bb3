//! What the token server recorded from upload callbacks: `GET /uploads` pages, and the answer to
//! a callback that OSS relays to the uploader.

use serde::{Deserialize, Serialize};

/// One upload the app server learnt of through an OSS upload callback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RecordedUpload {
    /// The server's id for the record.
    pub id: String,
    /// The signed-in user it belongs to (none when the server checks no identity).
    #[serde(default)]
    pub user: Option<String>,
    /// Bucket.
    pub bucket: String,
    /// Object name.
    pub key: String,
    /// ETag, without quotes.
    #[serde(rename = "ETag")]
    pub etag: String,
    /// Bytes.
    #[serde(default)]
    pub size: Option<u64>,
    /// Content-Type.
    #[serde(default)]
    pub content_type: Option<String>,
    /// Image width, for images.
    #[serde(default)]
    pub image_width: Option<u64>,
    /// Image height, for images.
    #[serde(default)]
    pub image_height: Option<u64>,
    /// Image format, for images.
    #[serde(default)]
    pub image_format: Option<String>,
    /// When it was recorded (RFC 3339, UTC, microseconds).
    pub uploaded_at: String,
}

/// One page of `GET /uploads`, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UploadsPage {
    /// The uploads.
    #[serde(default)]
    pub uploads: Vec<RecordedUpload>,
    /// Pass as `after` for the next page; `None` on the last.
    #[serde(default)]
    pub next_after: Option<String>,
}

/// The token server's answer to a callback (`{"Status":"OK", ...the record}`), relayed by OSS to
/// the uploading client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CallbackAnswer {
    /// `OK`.
    pub status: String,
    /// What was recorded.
    #[serde(flatten)]
    pub upload: RecordedUpload,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_and_answers_round_trip() {
        let u = RecordedUpload {
            id: "9f".into(),
            user: Some("alice".into()),
            bucket: "b".into(),
            key: "uploads/users/alice/a.jpg".into(),
            etag: "E".into(),
            size: Some(3),
            content_type: Some("image/jpeg".into()),
            image_width: Some(4),
            image_height: None,
            image_format: None,
            uploaded_at: "2026-11-30T18:00:00.000001Z".into(),
        };
        let page = UploadsPage {
            uploads: vec![u.clone()],
            next_after: Some("c".into()),
        };
        let json = serde_json::to_string(&page).unwrap();
        assert!(
            json.contains(r#""ETag":"E""#) && json.contains(r#""NextAfter":"c""#),
            "{json}"
        );
        assert_eq!(serde_json::from_str::<UploadsPage>(&json).unwrap(), page);
        let answer = CallbackAnswer {
            status: "OK".into(),
            upload: u,
        };
        let json = serde_json::to_string(&answer).unwrap();
        assert!(json.starts_with(r#"{"Status":"OK","Id":"9f""#), "{json}");
        assert_eq!(
            serde_json::from_str::<CallbackAnswer>(&json).unwrap(),
            answer
        );
    }
}
