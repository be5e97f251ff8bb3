//! Object tagging: `x-oss-tagging` on uploads and copies, GetObjectTagging, PutObjectTagging,
//! DeleteObjectTagging, and `x-oss-tagging-count` on GET/HEAD. Tags are checked as OSS checks
//! them: at most 10, keys 1-128 and values 0-256 characters of letters, digits, spaces and
//! `+ - = . _ : /`, keys unique.

use crate::body::RequestBody;
use crate::context::{Call, Resp};
use crate::xml::OssError;
use serde::Serialize;

/// Most tags on one object.
const MAX_TAGS: usize = 10;

fn invalid_tag(message: &str) -> OssError {
    OssError::new(400, "InvalidTag", message)
}

fn allowed_char(c: char) -> bool {
    c.is_alphanumeric() || " +-=._:/".contains(c)
}

/// Checks a tag set.
pub(crate) fn check(tags: &[(String, String)]) -> Result<(), OssError> {
    if tags.len() > MAX_TAGS {
        return Err(invalid_tag("Object tags cannot be greater than 10."));
    }
    for (i, (k, v)) in tags.iter().enumerate() {
        let key_len = k.chars().count();
        if !(1..=128).contains(&key_len) || !k.chars().all(allowed_char) {
            return Err(invalid_tag("The TagKey you have provided is invalid."));
        }
        if v.chars().count() > 256 || !v.chars().all(allowed_char) {
            return Err(invalid_tag("The TagValue you have provided is invalid."));
        }
        if tags[..i].iter().any(|(other, _)| other == k) {
            return Err(invalid_tag(
                "Cannot provide multiple Tags with the same key.",
            ));
        }
    }
    Ok(())
}

/// The tags of an `x-oss-tagging` header (`k1=v1&k2=v2`, URL-encoded), checked; `None`
/// when absent.
pub(crate) fn from_header(
    headers: &http::HeaderMap,
) -> Result<Option<Vec<(String, String)>>, OssError> {
    let Some(v) = headers.get("x-oss-tagging") else {
        return Ok(None);
    };
    let v = v
        .to_str()
        .map_err(|_| invalid_tag("The x-oss-tagging header is not valid."))?;
    let tags: Vec<(String, String)> = url::form_urlencoded::parse(v.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    check(&tags)?;
    Ok(Some(tags))
}

/// `x-oss-tagging-count` for GET/HEAD answers, when the object has tags.
pub(crate) fn count_header(tags: &[(String, String)]) -> Option<String> {
    (!tags.is_empty()).then(|| tags.len().to_string())
}

/// GetObjectTagging.
pub(crate) fn get(c: &Call<'_>) -> Result<Resp, OssError> {
    let (state, bucket, key) = (c.state, c.bucket, c.key);
    let meta = state
        .storage
        .head(bucket, key)?
        .ok_or_else(|| OssError::no_such_key(key))?;
    let tag = meta.tags.iter().map(|(key, value)| Tag { key, value });
    let doc = Tagging {
        tag_set: TagSet { tag: tag.collect() },
    };
    crate::xml::respond("Tagging", &doc)
}

/// The GetObjectTagging answer.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Tagging<'a> {
    tag_set: TagSet<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct TagSet<'a> {
    tag: Vec<Tag<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Tag<'a> {
    key: &'a str,
    value: &'a str,
}

/// Parses `<Tagging><TagSet><Tag><Key/><Value/></Tag>...</TagSet></Tagging>`.
fn parse(body: &[u8]) -> Result<Vec<(String, String)>, OssError> {
    let mut tags = Vec::new();
    let mut key: Option<String> = None;
    for (name, text) in crate::xml::leaves(body, "Tagging")? {
        match (name.as_str(), key.take()) {
            ("Key", None) => key = Some(text),
            ("Value", Some(k)) => tags.push((k, text)),
            ("TagSet", None) => {}
            _ => return Err(crate::xml::malformed_xml()),
        }
    }
    if key.is_some() {
        return Err(crate::xml::malformed_xml());
    }
    Ok(tags)
}

/// PutObjectTagging: replaces the object's tags.
pub(crate) async fn put(c: &Call<'_>, body: &mut RequestBody) -> Result<Resp, OssError> {
    let (state, bucket, key) = (c.state, c.bucket, c.key);
    let tags = parse(&body.collect(64 * 1024).await?)?;
    check(&tags)?;
    state.storage.update_meta(bucket, key, |m| m.tags = tags)?;
    Ok(empty(200))
}

/// DeleteObjectTagging.
pub(crate) fn delete(c: &Call<'_>) -> Result<Resp, OssError> {
    c.state
        .storage
        .update_meta(c.bucket, c.key, |m| m.tags.clear())?;
    Ok(empty(204))
}

fn empty(status: u16) -> Resp {
    http::Response::builder()
        .status(status)
        .header("content-length", "0")
        .body(axum::body::Body::empty())
        .expect("valid response")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn tag_rules() {
        assert!(check(&tags(&[("a", ""), ("+-.:", "_/"), ("中文", "test++/")])).is_ok());
        assert!(check(&tags(&[("", "v")])).is_err());
        assert!(check(&tags(&[("%@abc", "v")])).is_err());
        assert!(check(&tags(&[("k", "%abc")])).is_err());
        assert!(check(&tags(&[(&"a".repeat(129), "v")])).is_err());
        assert!(check(&tags(&[("k", &"a".repeat(257))])).is_err());
        assert!(check(&tags(&[("k", "1"), ("k", "2")])).is_err());
        let eleven: Vec<(String, String)> =
            (0..11).map(|i| (format!("k{i}"), String::new())).collect();
        assert!(check(&eleven).is_err());
    }

    #[test]
    fn parses_the_tagging_document() {
        let body = b"<Tagging><TagSet><Tag><Key>a</Key><Value>1</Value></Tag><Tag><Key>b</Key><Value></Value></Tag></TagSet></Tagging>";
        assert_eq!(parse(body).unwrap(), tags(&[("a", "1"), ("b", "")]));
        assert!(parse(b"<Nope/>").is_err());
    }
}
