//! What the app server recorded from upload callbacks: `GET /uploads` of the token server.

use crate::credentials::AuthServerCredentials;
use crate::error::{Error, ErrorKind, Result};

const OP: &str = "ListUploads";

pub use oss_direct_wire::uploads::{RecordedUpload, UploadsPage};

/// `http://host:7080/?scope=write` -> `http://host:7080/uploads`.
fn uploads_url(token_url: &str) -> Result<url::Url> {
    let mut u = url::Url::parse(token_url).map_err(|e| {
        Error::new(
            ErrorKind::InvalidInput,
            OP,
            format!("bad app server URL: {e}"),
        )
    })?;
    u.set_query(None);
    let path = u.path().trim_end_matches('/').to_string();
    u.set_path(&format!("{path}/uploads"));
    Ok(u)
}

impl AuthServerCredentials {
    /// The caller's uploads the app server recorded, newest first, `limit` at a time.
    pub async fn list_uploads(
        &self,
        limit: Option<u32>,
        after: Option<&str>,
    ) -> Result<UploadsPage> {
        let mut url = uploads_url(self.url())?;
        {
            let mut q = url.query_pairs_mut();
            if let Some(l) = limit {
                q.append_pair("limit", &l.to_string());
            }
            if let Some(a) = after {
                q.append_pair("after", a);
            }
        }
        let resp = self
            .authorized(self.http().get(url))
            .send()
            .await
            .map_err(|e| Error::from_reqwest(OP, e))?;
        let status = resp.status().as_u16();
        let body = resp.text().await.map_err(|e| Error::from_reqwest(OP, e))?;
        if status != 200 {
            let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
            let code = v["ErrorCode"].as_str().unwrap_or("UnknownError");
            let msg = v["ErrorMessage"]
                .as_str()
                .unwrap_or("no ErrorMessage given");
            let hint = if status == 404 {
                " (does this app server take upload callbacks?)"
            } else {
                ""
            };
            return Err(Error::new(
                ErrorKind::Credentials,
                OP,
                format!("the app server refused the list: {code}: {msg} (HTTP {status}){hint}"),
            ));
        }
        serde_json::from_str(&body).map_err(|e| {
            Error::new(
                ErrorKind::Unexpected,
                OP,
                format!("the app server's list is not the expected JSON: {e}"),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_url_sits_beside_the_token_url() {
        assert_eq!(
            uploads_url("http://h:7080/").unwrap().as_str(),
            "http://h:7080/uploads"
        );
        assert_eq!(
            uploads_url("http://h:7080/?scope=write").unwrap().as_str(),
            "http://h:7080/uploads"
        );
        assert_eq!(
            uploads_url("https://h/api/token/").unwrap().as_str(),
            "https://h/api/token/uploads"
        );
    }

    #[test]
    fn pages_parse() {
        let body = r#"{"Uploads":[{"Id":"1","User":null,"Bucket":"b","Key":"uploads/a.jpg","ETag":"\"E\"","Size":10,
            "ContentType":"image/jpeg","ImageWidth":640,"ImageHeight":480,"ImageFormat":"jpg","UploadedAt":"2026-01-01T00:00:00Z"}],"NextAfter":null}"#;
        let p: UploadsPage = serde_json::from_str(body).unwrap();
        assert_eq!(p.uploads[0].image_width, Some(640));
        assert_eq!(p.next_after, None);
    }
}
