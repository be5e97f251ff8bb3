//! Upload callbacks (`x-oss-callback`, `x-oss-callback-var`) on PutObject and
//! CompleteMultipartUpload: after the object is stored, POST the filled body to the callback URL,
//! signed like OSS signs it (RSA PKCS#1 v1.5 over MD5 of `url_decode(path) + ?query + "\n" +
//! body`, base64 in `Authorization`; the key's URL base64 in `x-oss-pub-key-url`), and relay the
//! answer, or 203 `CallbackFailed`.
//!
//! The key pair is made on first use and kept in the data dir; its public half is served at
//! `GET /-/callback-public-key.pem` on the OSS port.

use crate::context::{Call, Resp, State};
use crate::object::header;
use crate::storage::ObjectMeta;
use crate::xml::OssError;
use axum::body::Body;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use std::time::Duration;

/// The path of the public key on the OSS port.
pub(crate) const PUBLIC_KEY_PATH: &str = "/-/callback-public-key.pem";

/// The `x-oss-callback` parameters (one model for the client, the token server and oss-local).
pub(crate) use oss_direct_wire::callback::Callback;

fn invalid(message: &str) -> OssError {
    OssError::invalid_argument(message)
}

/// Whether `ip` is an address of this machine (loopback, unspecified, or one it can bind).
fn is_local(ip: std::net::IpAddr) -> bool {
    let ip = ip.to_canonical();
    ip.is_loopback() || ip.is_unspecified() || std::net::UdpSocket::bind((ip, 0)).is_ok()
}

/// Whether a callback to `addr` would reach oss-local itself (its OSS or STS port here).
fn is_self(addr: std::net::SocketAddr, own_ports: &[u16]) -> bool {
    own_ports.contains(&addr.port()) && is_local(addr.ip())
}

const SELF_REFUSED: &str = "The callbackUrl points at oss-local itself.";

/// The address of a URL whose host is an IP literal or `localhost` (no DNS needed).
fn literal_addrs(u: &url::Url) -> Vec<std::net::SocketAddr> {
    let port = u.port_or_known_default().unwrap_or(80);
    match u.host() {
        Some(url::Host::Ipv4(ip)) => vec![(ip, port).into()],
        Some(url::Host::Ipv6(ip)) => vec![(ip, port).into()],
        Some(url::Host::Domain(d))
            if d.eq_ignore_ascii_case("localhost")
                || d.to_ascii_lowercase().ends_with(".localhost") =>
        {
            vec![([127, 0, 0, 1], port).into()]
        }
        _ => Vec::new(),
    }
}

/// The callback of a request: its `x-oss-callback` / `x-oss-callback-var` headers, or the
/// `callback` / `callback-var` query parameters a presigned URL carries.
pub(crate) fn parse_request(c: &Call<'_>) -> Result<Option<Callback>, OssError> {
    let Some(cb) = c.target.param("callback") else {
        return parse(&c.parts.headers, &c.state.own_ports);
    };
    let mut headers = c.parts.headers.clone();
    let mut set = |name: &'static str, v: &str| -> Result<(), OssError> {
        let v = http::HeaderValue::from_str(v)
            .map_err(|_| invalid("The callback parameter is not valid."))?;
        headers.insert(name, v);
        Ok(())
    };
    set("x-oss-callback", cb)?;
    if let Some(var) = c.target.param("callback-var") {
        set("x-oss-callback-var", var)?;
    }
    parse(&headers, &c.state.own_ports)
}

/// Reads and checks the callback headers of a request, before anything is stored. A URL that
/// names oss-local's own ports on this machine is refused (resolved names are checked again
/// when the callback is made).
pub(crate) fn parse(
    headers: &http::HeaderMap,
    own_ports: &[u16],
) -> Result<Option<Callback>, OssError> {
    let Some(raw) = header(headers, "x-oss-callback") else {
        return Ok(None);
    };
    let cb = Callback::from_headers(raw, header(headers, "x-oss-callback-var"))
        .map_err(|e| invalid(&e.to_string()))?;
    for u in cb.urls() {
        let parsed = url::Url::parse(u)
            .ok()
            .filter(|u| u.host().is_some())
            .ok_or_else(|| invalid("The callbackUrl is not a valid http(s) URL."))?;
        if literal_addrs(&parsed)
            .into_iter()
            .any(|a| is_self(a, own_ports))
        {
            return Err(invalid(SELF_REFUSED));
        }
    }
    Ok(Some(cb))
}

/// Fills `${var}` in the body template, encoding each value for the body type.
fn fill(cb: &Callback, values: &[(&str, String)]) -> String {
    let json = cb.body_type() == Ok(oss_direct_wire::callback::BodyType::Json);
    let mut out = String::new();
    let mut rest = cb.callback_body.as_str();
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            rest = "";
            break;
        };
        let name = &after[..end];
        let value = values
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
            .or_else(|| cb.vars.get(name).cloned())
            .unwrap_or_default();
        let numeric =
            matches!(name, "size" | "imageInfo.height" | "imageInfo.width") && !value.is_empty();
        if json {
            if numeric {
                out.push_str(&value);
            } else {
                out.push_str(&serde_json::Value::String(value).to_string());
            }
        } else {
            out.push_str(&oss_direct_wire::sign::uri_encode(&value, false));
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

/// Calls the callback for a stored object and turns `resp` (the upload's answer) into what OSS
/// answers: the callback's body with 200, or 203 `CallbackFailed`.
pub(crate) async fn run(
    c: &Call<'_>,
    cb: &Callback,
    meta: &ObjectMeta,
    resp: Resp,
) -> Result<Resp, OssError> {
    let (state, bucket, request_id) = (c.state, c.bucket, c.request_id);
    let body = filled_body(state, cb, bucket, meta, c.op.name(), request_id);
    let mut last_error = String::from("no callback URL answered");
    for u in cb.urls() {
        let Ok(url) = url::Url::parse(u) else {
            continue;
        };
        match post(state, cb, &url, &body).await? {
            Ok(answer) => {
                let (mut parts, _) = resp.into_parts();
                parts.headers.insert(
                    http::header::CONTENT_TYPE,
                    http::HeaderValue::from_static("application/json"),
                );
                parts.headers.remove(http::header::CONTENT_LENGTH);
                return Ok(Resp::from_parts(parts, Body::from(answer)));
            }
            Err(why) => last_error = why,
        }
    }
    tracing::info!(bucket, key = %meta.key, "callback failed: {last_error}");
    let e = OssError::new(203, "CallbackFailed", last_error);
    let (mut parts, _) = resp.into_parts();
    parts.status = http::StatusCode::NON_AUTHORITATIVE_INFORMATION;
    parts.headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/xml"),
    );
    parts.headers.remove(http::header::CONTENT_LENGTH);
    let host = state.oss_public_addr.to_string();
    Ok(Resp::from_parts(
        parts,
        Body::from(e.to_xml(request_id, &host)),
    ))
}

/// The body template with the system and `x:` variables filled in.
fn filled_body(
    state: &State,
    cb: &Callback,
    bucket: &str,
    meta: &ObjectMeta,
    operation: &str,
    request_id: &str,
) -> String {
    let (width, height, format) = image_info(state, bucket, &meta.key);
    let values = [
        ("bucket", bucket.to_string()),
        ("object", meta.key.clone()),
        ("etag", meta.etag.clone()),
        ("size", meta.size.to_string()),
        ("mimeType", meta.content_type.clone()),
        ("imageInfo.height", height),
        ("imageInfo.width", width),
        ("imageInfo.format", format),
        ("crc64", meta.crc64.to_string()),
        ("contentMd5", meta.content_md5.clone().unwrap_or_default()),
        ("operation", operation.to_string()),
        ("reqId", request_id.to_string()),
    ];
    fill(cb, &values)
}

/// One POST of the signed callback to `url`: the answer (empty or JSON), or why not. Only an
/// internal failure (the signing key) is an `OssError`.
async fn post(
    state: &State,
    cb: &Callback,
    url: &url::Url,
    body: &str,
) -> Result<Result<bytes::Bytes, String>, OssError> {
    let message =
        oss_direct_wire::callback::string_to_sign(url.path(), url.query(), body.as_bytes());
    let signature = STANDARD.encode(state.callback_key.sign(&message)?);
    let addr = match resolve(url, &state.own_ports).await {
        Ok(a) => a,
        Err(e) => return Ok(Err(e)),
    };
    // The connection goes to the address just checked, whatever DNS says next.
    let mut client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(5));
    if let Some(url::Host::Domain(d)) = url.host() {
        client = client.resolve(d, addr);
    }
    let client = client.build().map_err(OssError::internal)?;
    let key_url = format!("http://{}{PUBLIC_KEY_PATH}", state.oss_public_addr);
    let body_type = cb.body_type().unwrap_or_default().as_str();
    let mut req = client
        .post(url.clone())
        .header("content-type", body_type)
        .header("authorization", signature)
        .header("x-oss-pub-key-url", STANDARD.encode(&key_url))
        .header("x-oss-requester", "oss-local")
        .body(body.to_string());
    if let Some(h) = cb.callback_host.as_deref().filter(|h| !h.is_empty()) {
        req = req.header("host", h);
    }
    Ok(match req.send().await {
        Ok(r) if r.status().as_u16() == 200 => {
            let answer = r.bytes().await.unwrap_or_default();
            if !answer.is_empty() && serde_json::from_slice::<serde_json::Value>(&answer).is_err() {
                Err("Response body is not valid json format.".into())
            } else {
                Ok(answer)
            }
        }
        Ok(r) => Err(format!("Error status : {}.", r.status().as_u16())),
        Err(e) if e.is_timeout() => Err("Callback timed out.".into()),
        Err(_) => Err("Error status : -1 (connection failed).".into()),
    })
}

/// The address a callback URL connects to, refused when it is oss-local itself.
async fn resolve(u: &url::Url, own_ports: &[u16]) -> Result<std::net::SocketAddr, String> {
    let port = u.port_or_known_default().unwrap_or(80);
    let addrs: Vec<std::net::SocketAddr> = match u.host() {
        Some(url::Host::Domain(d)) => tokio::net::lookup_host((d, port))
            .await
            .map_err(|_| "Error status : -1 (the callback host does not resolve).".to_string())?
            .collect(),
        _ => literal_addrs(u),
    };
    if addrs.iter().any(|a| is_self(*a, own_ports)) {
        return Err(SELF_REFUSED.into());
    }
    addrs
        .first()
        .copied()
        .ok_or_else(|| "Error status : -1 (the callback host does not resolve).".to_string())
}

/// Width, height and format of an image object ("" when it is not one).
fn image_info(state: &State, bucket: &str, key: &str) -> (String, String, String) {
    let none = || (String::new(), String::new(), String::new());
    let Ok(Some((_, file))) = state.storage.open_data(bucket, key) else {
        return none();
    };
    let reader = image::ImageReader::new(std::io::BufReader::new(file));
    let Ok(reader) = reader.with_guessed_format() else {
        return none();
    };
    let Some(format) = reader.format() else {
        return none();
    };
    let name = match format {
        image::ImageFormat::Jpeg => "jpg",
        image::ImageFormat::Png => "png",
        image::ImageFormat::Gif => "gif",
        image::ImageFormat::WebP => "webp",
        image::ImageFormat::Bmp => "bmp",
        _ => return none(),
    };
    match reader.into_dimensions() {
        Ok((w, h)) => (w.to_string(), h.to_string(), name.to_string()),
        Err(_) => none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cb(body: &str, body_type: Option<&str>) -> Callback {
        let mut c = Callback::new("http://x/cb", body);
        c.callback_body_type = body_type.map(str::to_string);
        c.vars.insert("x:user".into(), "a b".into());
        c
    }

    #[test]
    fn fills_form_and_json_bodies() {
        let values = [
            ("object", "k 1/ü".to_string()),
            ("size", "12".to_string()),
            ("imageInfo.width", String::new()),
        ];
        let form = fill(
            &cb(
                "object=${object}&size=${size}&u=${x:user}&w=${imageInfo.width}",
                None,
            ),
            &values,
        );
        assert_eq!(form, "object=k%201%2F%C3%BC&size=12&u=a%20b&w=");
        let json = fill(
            &cb(
                r#"{"object":${object},"size":${size},"u":${x:user},"w":${imageInfo.width}}"#,
                Some("application/json"),
            ),
            &values,
        );
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["object"], "k 1/ü");
        assert_eq!(v["size"], 12);
        assert_eq!(v["u"], "a b");
        assert_eq!(v["w"], "");
    }

    #[test]
    fn parse_checks_the_parameter() {
        let mut h = http::HeaderMap::new();
        let parse = |h: &http::HeaderMap| super::parse(h, &[9000, 9001]);
        assert!(parse(&h).unwrap().is_none());
        h.insert("x-oss-callback", "not base64!".parse().unwrap());
        assert_eq!(parse(&h).unwrap_err().code, "InvalidArgument");
        for own in [
            "http://127.0.0.1:9000/-/faults",
            "http://localhost:9000/-/faults",
            "http://0.0.0.0:9001/",
            "http://[::ffff:127.0.0.1]:9000/-/faults",
            "http://127.0.0.2:9000/",
        ] {
            let cb = STANDARD.encode(format!(r#"{{"callbackUrl":"{own}","callbackBody":"a"}}"#));
            h.insert("x-oss-callback", cb.parse().unwrap());
            assert_eq!(parse(&h).unwrap_err().message, SELF_REFUSED, "{own}");
        }
        let ok = STANDARD
            .encode(r#"{"callbackUrl":"http://127.0.0.1:1/cb","callbackBody":"a=${object}"}"#);
        h.insert("x-oss-callback", ok.parse().unwrap());
        assert!(parse(&h).unwrap().is_some());
        let bad = STANDARD.encode(r#"{"callbackUrl":"ftp://x/cb","callbackBody":"a"}"#);
        h.insert("x-oss-callback", bad.parse().unwrap());
        assert!(parse(&h).is_err());
        h.insert("x-oss-callback", ok.parse().unwrap());
        h.insert(
            "x-oss-callback-var",
            STANDARD.encode(r#"{"user":"x"}"#).parse().unwrap(),
        );
        // Only `x:` variables can be used; OSS ignores the others.
        let read = parse(&h).unwrap().unwrap();
        assert!(read.vars.is_empty(), "{:?}", read.vars);
    }
}
