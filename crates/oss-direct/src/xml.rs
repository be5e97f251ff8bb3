//! The XML documents OSS sends and takes.

use crate::error::{Error, ErrorKind, OssError, Result};
use serde::{Deserialize, Serialize};

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct ErrorDoc {
    code: String,
    message: String,
    request_id: String,
    host_id: String,
}

/// Parses an OSS error body; a body that is not OSS XML still gives the status and request id.
pub fn parse_error(status: u16, request_id: Option<&str>, body: &[u8]) -> OssError {
    let text = String::from_utf8_lossy(body);
    let doc: ErrorDoc = quick_xml::de::from_str(&text).unwrap_or_default();
    let code = if doc.code.is_empty() {
        match status {
            404 => "NotFound".to_string(),
            403 => "AccessDenied".to_string(),
            s if s >= 500 => "InternalError".to_string(),
            _ => format!("HTTP{status}"),
        }
    } else {
        doc.code
    };
    OssError {
        status,
        code,
        message: doc.message,
        request_id: if doc.request_id.is_empty() {
            request_id.unwrap_or_default().to_string()
        } else {
            doc.request_id
        },
        host_id: doc.host_id,
    }
}

pub(crate) fn from_xml<T: for<'de> Deserialize<'de>>(op: &'static str, body: &[u8]) -> Result<T> {
    let text = std::str::from_utf8(body)
        .map_err(|_| Error::new(ErrorKind::Unexpected, op, "the answer is not UTF-8 XML"))?;
    quick_xml::de::from_str(text).map_err(|e| {
        Error::new(
            ErrorKind::Unexpected,
            op,
            format!("cannot read OSS's XML answer: {e}"),
        )
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct InitiateResult {
    pub upload_id: String,
}

/// One uploaded part, as ListParts reports it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListedPart {
    /// 1..=10000.
    pub part_number: u32,
    /// The part's ETag (quoted MD5 hex).
    #[serde(rename = "ETag")]
    pub etag: String,
    /// Bytes.
    pub size: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ListPartsResult {
    #[serde(default)]
    pub next_part_number_marker: Option<String>,
    #[serde(default)]
    pub is_truncated: bool,
    #[serde(default, rename = "Part")]
    pub parts: Vec<ListedPart>,
}

#[derive(Serialize)]
#[serde(rename = "CompleteMultipartUpload")]
pub(crate) struct CompleteRequest {
    #[serde(rename = "Part")]
    pub parts: Vec<CompletePart>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct CompletePart {
    pub part_number: u32,
    #[serde(rename = "ETag")]
    pub etag: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct CompleteResult {
    #[serde(rename = "ETag")]
    pub etag: String,
}

/// One object of a listing.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListedObject {
    /// Object name.
    pub key: String,
    /// Bytes.
    pub size: u64,
    /// ETag.
    #[serde(rename = "ETag", default)]
    pub etag: String,
    /// Last modified, as OSS wrote it (ISO 8601).
    #[serde(default)]
    pub last_modified: String,
}

/// One page of ListObjectsV2.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ListObjectsPage {
    /// Objects on this page.
    #[serde(rename = "Contents")]
    pub objects: Vec<ListedObject>,
    /// Whether more pages follow.
    pub is_truncated: bool,
    /// The token for the next page.
    pub next_continuation_token: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_documents() {
        let body = br#"<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>AccessDenied</Code><Message>You have no right to access this object because of bucket acl.</Message>
<RequestId>5C3D9175B6FC201293AD****</RequestId><HostId>b.oss-cn-hangzhou.aliyuncs.com</HostId></Error>"#;
        let e = parse_error(403, None, body);
        assert_eq!(e.code, "AccessDenied");
        assert_eq!(e.request_id, "5C3D9175B6FC201293AD****");
        assert!(e.message.starts_with("You have no right"));
        let e = parse_error(404, Some("rid"), b"");
        assert_eq!(
            (e.code.as_str(), e.request_id.as_str()),
            ("NotFound", "rid")
        );
        let e = parse_error(502, None, b"<html>bad gateway</html>");
        assert_eq!(e.code, "InternalError");
    }

    #[test]
    fn list_parts_and_objects() {
        let body = br#"<ListPartsResult><Bucket>b</Bucket><Key>k</Key><UploadId>u</UploadId>
<NextPartNumberMarker>2</NextPartNumberMarker><MaxParts>2</MaxParts><IsTruncated>true</IsTruncated>
<Part><PartNumber>1</PartNumber><LastModified>2012-02-23T07:01:34.000Z</LastModified><ETag>"A"</ETag><Size>6291456</Size></Part>
<Part><PartNumber>2</PartNumber><LastModified>2012-02-23T07:01:12.000Z</LastModified><ETag>"B"</ETag><Size>5</Size></Part>
</ListPartsResult>"#;
        let r: ListPartsResult = from_xml("ListParts", body).unwrap();
        assert!(r.is_truncated);
        assert_eq!(r.next_part_number_marker.as_deref(), Some("2"));
        assert_eq!(r.parts[1].size, 5);
        assert_eq!(r.parts[0].etag, "\"A\"");
        let body = br#"<ListBucketResult><Name>b</Name><KeyCount>1</KeyCount><IsTruncated>false</IsTruncated>
<Contents><Key>a/b.jpg</Key><LastModified>2020-01-01T00:00:00.000Z</LastModified><ETag>"E"</ETag><Size>10</Size></Contents></ListBucketResult>"#;
        let p: ListObjectsPage = from_xml("ListObjectsV2", body).unwrap();
        assert_eq!(p.objects.len(), 1);
        assert_eq!(p.objects[0].key, "a/b.jpg");
        assert!(!p.is_truncated);
        let empty: ListPartsResult = from_xml(
            "ListParts",
            b"<ListPartsResult><IsTruncated>false</IsTruncated></ListPartsResult>",
        )
        .unwrap();
        assert!(empty.parts.is_empty());
    }

    #[test]
    fn complete_request_shape() {
        let x = quick_xml::se::to_string(&CompleteRequest {
            parts: vec![CompletePart {
                part_number: 1,
                etag: "\"E\"".into(),
            }],
        })
        .unwrap();
        assert_eq!(x, "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\"E\"</ETag></Part></CompleteMultipartUpload>");
    }
}
