//! OSS XML: the error document, result documents through quick-xml's serde serializer
//! ([`document`], [`respond`]), and readers for small request bodies.

use crate::context::Resp;
use axum::body::Body;
use http::{Response, StatusCode};
use quick_xml::se::{QuoteLevel, Serializer};
use serde::Serialize;

/// An OSS error as the service reports it: HTTP status, `Code`, `Message` and extra elements.
#[derive(Debug, Clone)]
pub(crate) struct OssError {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
    pub extra: Vec<(&'static str, String)>,
    /// Response headers the error answer carries (e.g. `x-oss-next-append-position`).
    pub headers: Vec<(&'static str, String)>,
}

impl OssError {
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            code: code.into(),
            message: message.into(),
            extra: Vec::new(),
            headers: Vec::new(),
        }
    }

    /// Adds a response header to the error answer.
    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub fn with(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.extra.push((name, value.into()));
        self
    }

    pub fn internal(e: impl std::fmt::Display) -> Self {
        tracing::error!("internal error: {e}");
        Self::new(
            500,
            "InternalError",
            "We encountered an internal error. Please try again.",
        )
    }

    pub fn access_denied(message: &str) -> Self {
        Self::new(403, "AccessDenied", message)
    }

    pub fn invalid_argument(message: impl Into<String>) -> Self {
        Self::new(400, "InvalidArgument", message)
    }

    pub fn no_such_key(key: &str) -> Self {
        Self::new(404, "NoSuchKey", "The specified key does not exist.").with("Key", key)
    }

    pub fn no_such_upload(upload_id: &str) -> Self {
        Self::new(
            404,
            "NoSuchUpload",
            "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.",
        )
        .with("UploadId", upload_id)
    }

    /// The `<Error>` document: `Code`, `Message`, `RequestId`, `HostId`, then the extra
    /// elements in the order they were added.
    pub fn to_xml(&self, request_id: &str, host_id: &str) -> String {
        let doc = ErrorDocument {
            error: self,
            request_id,
            host_id,
        };
        // Only text under fixed, valid element names: serializing cannot fail.
        document("Error", &doc).expect("an error document serializes")
    }
}

/// The elements of an `<Error>` document (their names are only known at run time).
struct ErrorDocument<'a> {
    error: &'a OssError,
    request_id: &'a str,
    host_id: &'a str,
}

impl Serialize for ErrorDocument<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let e = self.error;
        let fixed = [
            ("Code", e.code.as_str()),
            ("Message", e.message.as_str()),
            ("RequestId", self.request_id),
            ("HostId", self.host_id),
        ];
        let extra = e.extra.iter().map(|(k, v)| (*k, v.as_str()));
        s.collect_map(fixed.into_iter().chain(extra))
    }
}

impl From<std::io::Error> for OssError {
    fn from(e: std::io::Error) -> Self {
        Self::internal(e)
    }
}

/// The line every OSS XML answer starts with.
const DECLARATION: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

/// `doc` as an OSS XML document under `root`: the XML declaration line, then the elements in
/// field order, as OSS writes them: an empty element as `<A></A>`, quotes literal
/// (`<ETag>"..."</ETag>`), only `<`, `>` and `&` escaped.
pub(crate) fn document<T: Serialize + ?Sized>(root: &str, doc: &T) -> Result<String, OssError> {
    let mut out = String::from(DECLARATION);
    let mut ser = Serializer::with_root(&mut out, Some(root)).map_err(OssError::internal)?;
    ser.expand_empty_elements(true);
    ser.set_quote_level(QuoteLevel::Partial);
    doc.serialize(ser).map_err(OssError::internal)?;
    Ok(out)
}

/// A 200 answer with `doc` as its XML body (see [`document`]).
pub(crate) fn respond<T: Serialize + ?Sized>(root: &str, doc: &T) -> Result<Resp, OssError> {
    let xml = document(root, doc)?;
    Ok(Response::builder()
        .status(200)
        .header("content-type", "application/xml")
        .body(Body::from(xml))
        .expect("valid response"))
}

/// The owner of buckets and objects: the account (`<ID>` then `<DisplayName>`).
#[derive(Serialize, Clone, Copy)]
pub(crate) struct Owner<'a> {
    /// The account id.
    #[serde(rename = "ID")]
    pub id: &'a str,
    /// The account id again, as OSS shows it.
    #[serde(rename = "DisplayName")]
    pub display_name: &'a str,
}

impl<'a> Owner<'a> {
    /// The account `id` as owner.
    pub fn account(id: &'a str) -> Self {
        Self {
            id,
            display_name: id,
        }
    }
}

/// `"ETAG"`: an ETag as OSS writes it, in literal quotes.
pub(crate) fn quoted(etag: &str) -> String {
    format!("\"{etag}\"")
}

/// The `MalformedXML` error.
pub(crate) fn malformed_xml() -> OssError {
    OssError::new(
        400,
        "MalformedXML",
        "The XML you provided was not well-formed or did not validate against our published schema.",
    )
}

/// Reads a small configuration document whose root is `root`: every leaf element as
/// `(name, text)` in document order (an empty element gives an empty text).
pub(crate) fn leaves(body: &[u8], root: &str) -> Result<Vec<(String, String)>, OssError> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_reader(body);
    let (mut out, mut saw_root) = (Vec::new(), false);
    let mut open: Option<(String, String)> = None;
    loop {
        match reader.read_event().map_err(|_| malformed_xml())? {
            Event::Start(e) => {
                let name = String::from_utf8_lossy(e.name().as_ref()).to_string();
                saw_root |= name == root;
                open = Some((name, String::new()));
            }
            Event::Empty(e) => out.push((
                String::from_utf8_lossy(e.name().as_ref()).to_string(),
                String::new(),
            )),
            Event::Text(t) => {
                if let Some((_, text)) = open.as_mut() {
                    text.push_str(&t.unescape().map_err(|_| malformed_xml())?);
                }
            }
            Event::CData(t) => {
                if let Some((_, text)) = open.as_mut() {
                    text.push_str(&String::from_utf8_lossy(&t));
                }
            }
            Event::End(e) => {
                if let Some((name, text)) = open.take() {
                    if name.as_bytes() == e.name().as_ref() {
                        out.push((name, text));
                    }
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !saw_root {
        return Err(malformed_xml());
    }
    Ok(out)
}

/// One `<Part>` of a `CompleteMultipartUpload` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CompletePart {
    pub part_number: u32,
    pub etag: String,
}

/// Parses `<CompleteMultipartUpload><Part><PartNumber/><ETag/></Part>...`.
pub(crate) fn parse_complete(body: &[u8]) -> Result<Vec<CompletePart>, OssError> {
    use quick_xml::events::Event;
    let malformed = || {
        OssError::new(
            400,
            "MalformedXML",
            "The XML you provided was not well-formed or did not validate against our published schema.",
        )
    };
    let mut reader = quick_xml::Reader::from_reader(body);
    let mut parts = Vec::new();
    let mut current: Option<(Option<u32>, Option<String>)> = None;
    let mut field: Option<String> = None;
    let mut saw_root = false;
    loop {
        match reader.read_event().map_err(|_| malformed())? {
            Event::Start(e) => {
                let name = String::from_utf8_lossy(e.name().as_ref()).to_string();
                match name.as_str() {
                    "CompleteMultipartUpload" => saw_root = true,
                    "Part" => current = Some((None, None)),
                    _ => field = Some(name),
                }
            }
            Event::Text(t) => {
                let text = t.unescape().map_err(|_| malformed())?.trim().to_string();
                if let (Some(f), Some(cur)) = (field.as_deref(), current.as_mut()) {
                    match f {
                        "PartNumber" => cur.0 = Some(text.parse().map_err(|_| malformed())?),
                        "ETag" => cur.1 = Some(text),
                        _ => {}
                    }
                }
            }
            Event::End(e) => {
                if e.name().as_ref() == b"Part" {
                    match current.take() {
                        Some((Some(part_number), Some(etag))) => {
                            parts.push(CompletePart { part_number, etag })
                        }
                        _ => return Err(malformed()),
                    }
                }
                field = None;
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !saw_root {
        return Err(malformed());
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_complete_body() {
        let body = br#"<?xml version="1.0"?><CompleteMultipartUpload>
            <Part><PartNumber>1</PartNumber><ETag>"AB"</ETag></Part>
            <Part><PartNumber>2</PartNumber><ETag>&quot;CD&quot;</ETag></Part>
            </CompleteMultipartUpload>"#;
        let parts = parse_complete(body).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[1].part_number, 2);
        assert_eq!(parts[1].etag, "\"CD\"");
        assert_eq!(parse_complete(b"<Nope/>").unwrap_err().code, "MalformedXML");
        assert_eq!(
            parse_complete(b"<CompleteMultipartUpload><Part><PartNumber>x</PartNumber></Part>")
                .unwrap_err()
                .code,
            "MalformedXML"
        );
    }

    #[test]
    fn documents_are_written_as_oss_writes_them() {
        #[derive(Serialize)]
        #[serde(rename_all = "PascalCase")]
        struct Doc<'a> {
            #[serde(rename = "ETag")]
            etag: String,
            empty: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            absent: Option<&'a str>,
            item: Vec<&'a str>,
            owner: Owner<'a>,
        }
        let doc = Doc {
            etag: quoted("AB"),
            empty: "",
            absent: None,
            item: vec!["a<b>&'c'", "d"],
            owner: Owner::account("1"),
        };
        assert_eq!(
            document("Root", &doc).unwrap(),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Root><ETag>\"AB\"</ETag><Empty></Empty>\
             <Item>a&lt;b&gt;&amp;'c'</Item><Item>d</Item>\
             <Owner><ID>1</ID><DisplayName>1</DisplayName></Owner></Root>"
        );
    }

    #[test]
    fn error_document_escapes() {
        let xml = OssError::no_such_key("a<b").to_xml("RID", "host");
        assert!(xml.contains("<Code>NoSuchKey</Code>"));
        assert!(xml.contains("<Key>a&lt;b</Key>"));
        assert!(xml.contains("<RequestId>RID</RequestId>"));
        let xml = OssError::no_such_upload("U")
            .with("Extra", "\"x\"")
            .to_xml("R", "h");
        assert!(xml.ends_with(
            "<RequestId>R</RequestId><HostId>h</HostId><UploadId>U</UploadId>\
             <Extra>\"x\"</Extra></Error>"
        ));
    }
}
