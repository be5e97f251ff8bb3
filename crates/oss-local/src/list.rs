//! ListObjects (V1, `marker`) and ListObjectsV2 (`list-type=2`, continuation tokens).

use crate::auth::iso8601_secs;
use crate::context::Target;
use crate::context::{Call, Resp};
use crate::storage::ObjectMeta;
use crate::xml::{quoted, OssError, Owner};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Serialize;

/// URL-encodes a name when the client asked for `encoding-type=url`.
pub(crate) fn encode_name(name: &str, url: bool) -> String {
    if url {
        oss_direct_wire::sign::uri_encode(name, true)
    } else {
        name.to_string()
    }
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
    let url = params.url;
    let fetch_owner = !v2 || target.param("fetch-owner") == Some("true");
    let owner = fetch_owner.then(|| Owner::account(&state.opts.account_id));
    let contents = page.contents.iter().map(|m| Contents {
        key: encode_name(&m.key, url),
        last_modified: iso8601_secs(m.last_modified),
        etag: quoted(&m.etag),
        object_type: &m.object_type,
        size: m.size,
        storage_class: "Standard",
        owner,
    });
    let prefixes = page.prefixes.iter().map(|p| CommonPrefixes {
        prefix: encode_name(p, url),
    });
    let doc = ListBucketResult {
        contents: contents.collect(),
        common_prefixes: prefixes.collect(),
        ..header(target, bucket, v2, &params, &page)
    };
    crate::xml::respond("ListBucketResult", &doc)
}

/// The ListObjects / ListObjectsV2 answer: the header elements, then `Contents`, then
/// `CommonPrefixes`.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ListBucketResult<'a> {
    name: &'a str,
    prefix: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    continuation_token: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    start_after: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    marker: Option<String>,
    max_keys: usize,
    delimiter: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    encoding_type: Option<&'a str>,
    is_truncated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_continuation_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_marker: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    key_count: Option<usize>,
    contents: Vec<Contents<'a>>,
    common_prefixes: Vec<CommonPrefixes>,
}

/// One listed object.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Contents<'a> {
    key: String,
    last_modified: String,
    #[serde(rename = "ETag")]
    etag: String,
    #[serde(rename = "Type")]
    object_type: &'a str,
    size: u64,
    storage_class: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    owner: Option<Owner<'a>>,
}

/// One common prefix (of a listing or of ListMultipartUploads).
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct CommonPrefixes {
    /// The prefix (URL-encoded when asked).
    pub prefix: String,
}

/// The header elements of a listing (no `Contents` or `CommonPrefixes` yet).
fn header<'a>(
    target: &'a Target,
    bucket: &'a str,
    v2: bool,
    p: &ListParams<'_>,
    page: &Page<'_>,
) -> ListBucketResult<'a> {
    let url = p.url;
    let next = page.truncated.then_some(&page.next_after);
    ListBucketResult {
        name: bucket,
        prefix: encode_name(p.prefix, url),
        continuation_token: v2
            .then(|| target.param("continuation-token").filter(|t| !t.is_empty()))
            .flatten(),
        start_after: v2
            .then(|| target.param("start-after").map(|s| encode_name(s, url)))
            .flatten(),
        marker: (!v2).then(|| encode_name(&p.after, url)),
        max_keys: p.max_keys,
        delimiter: encode_name(p.delimiter, url),
        encoding_type: url.then_some("url"),
        is_truncated: page.truncated,
        next_continuation_token: next
            .filter(|_| v2)
            .map(|n| URL_SAFE_NO_PAD.encode(n.as_bytes())),
        next_marker: next.filter(|_| !v2).map(|n| encode_name(n, url)),
        key_count: v2.then_some(page.contents.len() + page.prefixes.len()),
        contents: Vec::new(),
        common_prefixes: Vec::new(),
    }
}
