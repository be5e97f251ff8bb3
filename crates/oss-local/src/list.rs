//! ListObjects (V1, `marker`) and ListObjectsV2 (`list-type=2`, continuation tokens).

use crate::auth::iso8601;
use crate::context::Target;
use crate::context::{Call, Resp, State};
use crate::storage::ObjectMeta;
use crate::xml::{OssError, XmlWriter};
use axum::body::Body;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use http::Response;

/// URL-encodes a name when the client asked for `encoding-type=url`.
pub(crate) fn encode_name(name: &str, url: bool) -> String {
    if url {
        oss_direct_wire::sign::uri_encode(name, true)
    } else {
        name.to_string()
    }
}

pub(crate) fn xml_response(xml: String) -> Resp {
    Response::builder()
        .status(200)
        .header("content-type", "application/xml")
        .body(Body::from(xml))
        .expect("valid response")
}

/// What a listing asks for.
struct ListParams<'a> {
    prefix: &'a str,
    delimiter: &'a str,
    url: bool,
    max_keys: usize,
    /// Keys up to and including this one are not listed (marker, start-after or token).
    after: String,
}

impl<'a> ListParams<'a> {
    fn parse(target: &'a Target, v2: bool) -> Result<Self, OssError> {
        let max_keys: usize = match target.param("max-keys") {
            Some(v) => v
                .parse()
                .ok()
                .filter(|n| (1..=1000).contains(n))
                .ok_or_else(|| {
                    OssError::invalid_argument("max-keys must be between 1 and 1000.")
                })?,
            None => 100,
        };
        let after: String = if v2 {
            // oss2 always sends `continuation-token`, empty on the first page.
            match target.param("continuation-token").filter(|t| !t.is_empty()) {
                Some(t) => URL_SAFE_NO_PAD
                    .decode(t)
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                    .ok_or_else(|| {
                        OssError::invalid_argument("The continuation token is not valid.")
                    })?,
                None => target.param("start-after").unwrap_or("").to_string(),
            }
        } else {
            target.param("marker").unwrap_or("").to_string()
        };
        Ok(Self {
            prefix: target.param("prefix").unwrap_or(""),
            delimiter: target.param("delimiter").unwrap_or(""),
            url: target.param("encoding-type") == Some("url"),
            max_keys,
            after,
        })
    }
}

/// One page of a listing.
struct Page<'m> {
    contents: Vec<&'m ObjectMeta>,
    prefixes: Vec<String>,
    truncated: bool,
    /// The marker of the next page (a common prefix used as marker skips every key under it).
    next_after: String,
}

/// The objects and common prefixes of one page, in key order.
fn page<'m>(objects: &'m [ObjectMeta], p: &ListParams<'_>) -> Page<'m> {
    let mut page = Page {
        contents: Vec::new(),
        prefixes: Vec::new(),
        truncated: false,
        next_after: String::new(),
    };
    let after = p.after.as_str();
    for meta in objects {
        if !meta.key.starts_with(p.prefix) || meta.key.as_str() <= after {
            continue;
        }
        // A common prefix counts once and stands for all keys under it.
        let common = (!p.delimiter.is_empty())
            .then(|| {
                meta.key[p.prefix.len()..]
                    .find(p.delimiter)
                    .map(|i| meta.key[..p.prefix.len() + i + p.delimiter.len()].to_string())
            })
            .flatten();
        if let Some(cp) = &common {
            if page.prefixes.last() == Some(cp) || cp.as_str() <= after {
                continue;
            }
        }
        if page.contents.len() + page.prefixes.len() == p.max_keys {
            page.truncated = true;
            break;
        }
        match common {
            Some(cp) => {
                page.next_after = cp.clone();
                page.prefixes.push(cp);
            }
            None => {
                page.next_after = meta.key.clone();
                page.contents.push(meta);
            }
        }
    }
    page
}

/// ListObjects (V1) or ListObjectsV2 (by the call's operation).
pub(crate) fn list(c: &Call<'_>) -> Result<Resp, OssError> {
    let (state, target, bucket) = (c.state, c.target, c.bucket);
    let v2 = c.op == crate::op::Op::ListObjectsV2;
    let params = ListParams::parse(target, v2)?;
    let objects = state.storage.list(bucket)?;
    let page = page(&objects, &params);
    let mut w = XmlWriter::new("ListBucketResult");
    write_header(&mut w, target, bucket, v2, &params, &page);
    let fetch_owner = !v2 || target.param("fetch-owner") == Some("true");
    for m in &page.contents {
        write_object(&mut w, state, m, params.url, fetch_owner);
    }
    for p in &page.prefixes {
        w.open("CommonPrefixes");
        w.elem("Prefix", &encode_name(p, params.url));
        w.close();
    }
    Ok(xml_response(w.finish()))
}

fn write_header(
    w: &mut XmlWriter,
    target: &Target,
    bucket: &str,
    v2: bool,
    p: &ListParams<'_>,
    page: &Page<'_>,
) {
    let url = p.url;
    w.elem("Name", bucket);
    w.elem("Prefix", &encode_name(p.prefix, url));
    if v2 {
        if let Some(t) = target.param("continuation-token").filter(|t| !t.is_empty()) {
            w.elem("ContinuationToken", t);
        }
        if let Some(s) = target.param("start-after") {
            w.elem("StartAfter", &encode_name(s, url));
        }
    } else {
        w.elem("Marker", &encode_name(&p.after, url));
    }
    w.elem("MaxKeys", &p.max_keys.to_string());
    w.elem("Delimiter", &encode_name(p.delimiter, url));
    if url {
        w.elem("EncodingType", "url");
    }
    w.elem("IsTruncated", if page.truncated { "true" } else { "false" });
    if page.truncated {
        if v2 {
            let token = URL_SAFE_NO_PAD.encode(page.next_after.as_bytes());
            w.elem("NextContinuationToken", &token);
        } else {
            w.elem("NextMarker", &encode_name(&page.next_after, url));
        }
    }
    if v2 {
        let count = page.contents.len() + page.prefixes.len();
        w.elem("KeyCount", &count.to_string());
    }
}

fn write_object(w: &mut XmlWriter, state: &State, m: &ObjectMeta, url: bool, owner: bool) {
    w.open("Contents");
    w.elem("Key", &encode_name(&m.key, url));
    let modified = time::OffsetDateTime::from_unix_timestamp(m.last_modified)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    w.elem("LastModified", &iso8601(modified));
    w.elem("ETag", &format!("\"{}\"", m.etag));
    w.elem("Type", &m.object_type);
    w.elem("Size", &m.size.to_string());
    w.elem("StorageClass", "Standard");
    if owner {
        w.open("Owner");
        w.elem("ID", &state.opts.account_id);
        w.elem("DisplayName", &state.opts.account_id);
        w.close();
    }
    w.close();
}
