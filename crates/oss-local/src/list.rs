//! ListObjects (V1, `marker`) and ListObjectsV2 (`list-type=2`, continuation tokens).

use crate::auth::iso8601;
use crate::oss::Target;
use crate::server::{Resp, State};
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

pub(crate) fn list(
    state: &State,
    target: &Target,
    bucket: &str,
    v2: bool,
) -> Result<Resp, OssError> {
    let prefix = target.param("prefix").unwrap_or("");
    let delimiter = target.param("delimiter").unwrap_or("");
    let url = target.param("encoding-type") == Some("url");
    let max_keys: usize = match target.param("max-keys") {
        Some(v) => v
            .parse()
            .ok()
            .filter(|n| (1..=1000).contains(n))
            .ok_or_else(|| OssError::invalid_argument("max-keys must be between 1 and 1000."))?,
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

    let objects = state.storage.list(bucket)?;
    let mut contents = Vec::new();
    let mut prefixes: Vec<String> = Vec::new();
    let mut truncated = false;
    let mut last = String::new();
    for meta in objects.iter() {
        if !meta.key.starts_with(prefix) || meta.key.as_str() <= after.as_str() {
            continue;
        }
        // A common prefix counts once and stands for all keys under it.
        let common = if delimiter.is_empty() {
            None
        } else {
            meta.key[prefix.len()..]
                .find(delimiter)
                .map(|i| meta.key[..prefix.len() + i + delimiter.len()].to_string())
        };
        if let Some(cp) = &common {
            if prefixes.last() == Some(cp) || cp.as_str() <= after.as_str() {
                continue;
            }
        }
        if contents.len() + prefixes.len() == max_keys {
            truncated = true;
            break;
        }
        match common {
            Some(cp) => {
                last = cp.clone();
                prefixes.push(cp);
            }
            None => {
                last = meta.key.clone();
                contents.push(meta);
            }
        }
    }
    // A common prefix used as marker skips every key under it (see the check above).
    let next_after = last;

    let mut w = XmlWriter::new("ListBucketResult");
    w.elem("Name", bucket);
    w.elem("Prefix", &encode_name(prefix, url));
    if v2 {
        if let Some(t) = target.param("continuation-token").filter(|t| !t.is_empty()) {
            w.elem("ContinuationToken", t);
        }
        if let Some(s) = target.param("start-after") {
            w.elem("StartAfter", &encode_name(s, url));
        }
    } else {
        w.elem("Marker", &encode_name(&after, url));
    }
    w.elem("MaxKeys", &max_keys.to_string());
    w.elem("Delimiter", &encode_name(delimiter, url));
    if url {
        w.elem("EncodingType", "url");
    }
    w.elem("IsTruncated", if truncated { "true" } else { "false" });
    if truncated {
        if v2 {
            w.elem(
                "NextContinuationToken",
                &URL_SAFE_NO_PAD.encode(next_after.as_bytes()),
            );
        } else {
            w.elem("NextMarker", &encode_name(&next_after, url));
        }
    }
    if v2 {
        w.elem("KeyCount", &(contents.len() + prefixes.len()).to_string());
    }
    let fetch_owner = !v2 || target.param("fetch-owner") == Some("true");
    for m in contents {
        w.open("Contents");
        w.elem("Key", &encode_name(&m.key, url));
        w.elem(
            "LastModified",
            &iso8601(
                time::OffsetDateTime::from_unix_timestamp(m.last_modified)
                    .unwrap_or(time::OffsetDateTime::UNIX_EPOCH),
            ),
        );
        w.elem("ETag", &format!("\"{}\"", m.etag));
        w.elem("Type", &m.object_type);
        w.elem("Size", &m.size.to_string());
        w.elem("StorageClass", "Standard");
        if fetch_owner {
            w.open("Owner");
            w.elem("ID", &state.opts.account_id);
            w.elem("DisplayName", &state.opts.account_id);
            w.close();
        }
        w.close();
    }
    for p in prefixes {
        w.open("CommonPrefixes");
        w.elem("Prefix", &encode_name(&p, url));
        w.close();
    }
    Ok(xml_response(w.finish()))
}
