//! DeleteMultipleObjects (`POST /bucket?delete` with a `<Delete>` XML body): an app's "delete
//! selected". Every key is checked against the caller's `oss:DeleteObject` first; one refused
//! key refuses the request and nothing is deleted.

use crate::body::RequestBody;
use crate::context::{Call, Resp};
use crate::list::encode_name;
use crate::object::check_md5;
use crate::xml::OssError;
use md5::{Digest, Md5};
use serde::Serialize;

/// Most keys in one request (OSS's figure).
const MAX_KEYS: usize = 1000;

fn malformed() -> OssError {
    OssError::new(
        400,
        "MalformedXML",
        "The XML you provided was not well-formed or did not validate against our published schema.",
    )
}

/// Parses `<Delete><Quiet>..</Quiet><Object><Key>..</Key></Object>...</Delete>`: the keys, and
/// whether the answer is quiet.
fn parse(body: &[u8]) -> Result<(Vec<String>, bool), OssError> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_reader(body);
    let (mut keys, mut quiet, mut saw_root) = (Vec::new(), false, false);
    let mut field: Option<String> = None;
    loop {
        match reader.read_event().map_err(|_| malformed())? {
            Event::Start(e) => {
                let name = String::from_utf8_lossy(e.name().as_ref()).to_string();
                saw_root |= name == "Delete";
                field = Some(name);
            }
            Event::Text(t) => {
                let text = t.unescape().map_err(|_| malformed())?.to_string();
                match field.as_deref() {
                    Some("Key") => keys.push(text),
                    Some("Quiet") => quiet = text.trim().eq_ignore_ascii_case("true"),
                    _ => {}
                }
            }
            Event::End(_) => field = None,
            Event::Eof => break,
            _ => {}
        }
    }
    if !saw_root || keys.is_empty() || keys.len() > MAX_KEYS {
        return Err(malformed());
    }
    Ok((keys, quiet))
}

/// DeleteMultipleObjects.
pub(crate) async fn delete_many(c: &Call<'_>, body: &mut RequestBody) -> Result<Resp, OssError> {
    let (state, parts, target, bucket) = (c.state, c.parts, c.target, c.bucket);
    let bytes = body.collect(2 * 1024 * 1024).await?;
    check_md5(&parts.headers, &Md5::digest(&bytes).into())?;
    let (keys, quiet) = parse(&bytes)?;
    let url = target.param("encoding-type") == Some("url");
    let keys: Vec<String> = if url {
        keys.iter()
            .map(|k| {
                percent_encoding::percent_decode_str(k)
                    .decode_utf8()
                    .map(|k| k.into_owned())
                    .map_err(|_| malformed())
            })
            .collect::<Result<_, _>>()?
    } else {
        keys
    };
    for key in &keys {
        crate::oss::check_key(key)?;
        let resource = format!(
            "acs:oss:{}:{}:{bucket}/{key}",
            state.opts.region, state.opts.account_id
        );
        if !c.principal.allows("oss:DeleteObject", &resource, c.ctx) {
            return Err(
                OssError::access_denied("Access denied by authorizer's policy.")
                    .with("Action", "oss:DeleteObject")
                    .with("Resource", resource),
            );
        }
    }
    let mut doc = DeleteResult {
        encoding_type: url.then_some("url"),
        deleted: Vec::new(),
    };
    for key in &keys {
        state.storage.delete(bucket, key)?;
        if !quiet {
            doc.deleted.push(Deleted {
                key: encode_name(key, url),
            });
        }
    }
    crate::xml::respond("DeleteResult", &doc)
}

/// The DeleteMultipleObjects answer (no `Deleted` in quiet mode).
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct DeleteResult {
    #[serde(skip_serializing_if = "Option::is_none")]
    encoding_type: Option<&'static str>,
    deleted: Vec<Deleted>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Deleted {
    key: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_keys_and_quiet() {
        let (keys, quiet) = parse(
            b"<Delete><Quiet>true</Quiet><Object><Key>a &amp; b</Key></Object><Object><Key>c</Key></Object></Delete>",
        )
        .unwrap();
        assert_eq!((keys, quiet), (vec!["a & b".to_string(), "c".into()], true));
        assert!(parse(b"<Delete></Delete>").is_err());
        assert!(parse(b"<Nope><Key>a</Key></Nope>").is_err());
    }
}
