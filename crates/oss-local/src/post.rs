//! PostObject: the browser / mini-program form upload (`POST /bucket` with a
//! `multipart/form-data` body), Alibaba's other direct-transfer path.
//!
//! The form's signed policy is verified as OSS verifies it: V1 (`OSSAccessKeyId`, `policy`,
//! `Signature` = base64 HMAC-SHA1 of the base64 policy) or V4 (`x-oss-signature-version`,
//! `x-oss-credential`, `x-oss-date`, `x-oss-signature` = hex HMAC-SHA256 with the derived key),
//! with `x-oss-security-token` for temporary credentials. The policy must be unexpired and every
//! condition must hold (`eq`, `starts-with`, `in`, `not-in`, `content-length-range`, and
//! `{"field": "value"}`); the signer's RAM policy must allow `oss:PutObject` on the key. Nothing
//! is stored unless all of it holds. An unsigned form is accepted only by a public-read-write
//! bucket.

use crate::auth::{parse_credential, parse_v4_time, resolve};
use crate::body::RequestBody;
use crate::context::{Call, Principal, Target};
use crate::context::{Resp, State};
use crate::storage::{ChunkSource, ObjectMeta};
use crate::xml::OssError;
use axum::body::Body;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue};
use oss_direct_wire::policy::Context;
use serde::Serialize;
use std::sync::{Arc, Mutex};

/// Largest text field of a form (the policy is the big one).
const MAX_FIELD: usize = 64 * 1024;
/// Most text fields, and most bytes of them all, before the file.
const MAX_FIELDS: usize = 200;
const MAX_FIELDS_BYTES: usize = 1024 * 1024;

/// The text fields of a form (names lower-cased, as OSS matches them), then its file.
pub(crate) struct Form {
    fields: Vec<(String, String)>,
    file_name: Option<String>,
    file_type: Option<String>,
}

impl Form {
    fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The object key, with `${filename}` replaced by the uploaded file's name.
    fn key(&self) -> Result<String, OssError> {
        let key = self.get("key").ok_or_else(|| {
            OssError::invalid_argument("The key field is missing.").with("ArgumentName", "key")
        })?;
        let file_name = self.file_name.as_deref().unwrap_or("");
        let key = key.replace("${filename}", file_name);
        crate::oss::check_key(&key)?;
        if key.is_empty() {
            return Err(OssError::invalid_argument("The key field is empty."));
        }
        Ok(key)
    }

    /// The fields that are headers of a PutObject (type, caching, metadata, `x-oss-*`).
    fn headers(&self) -> Result<HeaderMap, OssError> {
        let mut h = HeaderMap::new();
        for (name, value) in &self.fields {
            let header_like = matches!(
                name.as_str(),
                "content-type"
                    | "cache-control"
                    | "content-disposition"
                    | "content-encoding"
                    | "content-language"
                    | "expires"
            ) || (name.starts_with("x-oss-")
                && !SIGNATURE_FIELDS.contains(&name.as_str()));
            if header_like {
                let bad = || OssError::invalid_argument(format!("The {name} field is not valid."));
                let n = HeaderName::from_bytes(name.as_bytes()).map_err(|_| bad())?;
                let v = HeaderValue::from_bytes(value.as_bytes()).map_err(|_| bad())?;
                h.insert(n, v);
            }
        }
        if let Some(cb) = self.get("callback") {
            let bad = || OssError::invalid_argument("The callback field is not valid.");
            h.insert(
                "x-oss-callback",
                HeaderValue::from_str(cb).map_err(|_| bad())?,
            );
            let vars: serde_json::Map<String, serde_json::Value> = self
                .fields
                .iter()
                .filter(|(k, _)| k.starts_with("x:"))
                .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                .collect();
            if !vars.is_empty() {
                let json = serde_json::Value::Object(vars).to_string();
                let v = HeaderValue::from_str(&STANDARD.encode(json)).map_err(|_| bad())?;
                h.insert("x-oss-callback-var", v);
            }
        }
        if !h.contains_key("content-type") {
            if let Some(v) = self
                .file_type
                .as_deref()
                .and_then(|t| HeaderValue::from_str(t).ok())
            {
                h.insert(http::header::CONTENT_TYPE, v);
            }
        }
        Ok(h)
    }
}

/// Form fields that carry the signature, not object headers.
const SIGNATURE_FIELDS: &[&str] = &[
    "x-oss-signature-version",
    "x-oss-credential",
    "x-oss-date",
    "x-oss-signature",
    "x-oss-security-token",
];

/// A request body as the stream multer reads; an error of ours (size limit, cut) is kept aside
/// so it reaches the client as itself rather than as a form error.
fn body_stream(
    body: &mut RequestBody,
    failure: Arc<Mutex<Option<OssError>>>,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> + Send + '_ {
    futures_util::stream::unfold(body, move |b| {
        let failure = failure.clone();
        async move {
            match b.chunk().await {
                Ok(Some(c)) => Some((Ok(c), b)),
                Ok(None) => None,
                Err(e) => {
                    *failure.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
                    Some((Err(std::io::Error::other("body")), b))
                }
            }
        }
    })
}

/// The file field, read chunk by chunk into storage.
struct FileField<'a> {
    field: multer::Field<'a>,
    failure: Arc<Mutex<Option<OssError>>>,
}

impl ChunkSource for FileField<'_> {
    async fn next_chunk(&mut self) -> Result<Option<Bytes>, OssError> {
        let failure = self.failure.clone();
        self.field
            .chunk()
            .await
            .map_err(|e| form_error(&failure, e))
    }
}

fn form_error(failure: &Mutex<Option<OssError>>, e: multer::Error) -> OssError {
    if let Some(ours) = failure.lock().unwrap_or_else(|p| p.into_inner()).take() {
        return ours;
    }
    OssError::new(
        400,
        "MalformedPOSTRequest",
        format!("The body of your POST request is not well-formed multipart/form-data: {e}."),
    )
}

/// Reads a text field, at most [`MAX_FIELD`] bytes.
async fn text_field(
    field: &mut multer::Field<'_>,
    failure: &Mutex<Option<OssError>>,
) -> Result<String, OssError> {
    let mut out = Vec::new();
    while let Some(c) = field.chunk().await.map_err(|e| form_error(failure, e))? {
        if out.len() + c.len() > MAX_FIELD {
            return Err(OssError::invalid_argument("A form field is too large."));
        }
        out.extend_from_slice(&c);
    }
    String::from_utf8(out).map_err(|_| OssError::invalid_argument("A form field is not UTF-8."))
}

/// PostObject.
///
/// The form carries its own signature: `c.principal` is `Anonymous` here, and the signer is
/// found and checked from the form before any byte of the file is stored.
pub(crate) async fn post_object(c: &Call<'_>, body: &mut RequestBody) -> Result<Resp, OssError> {
    let (state, parts, bucket, acl) = (c.state, c.parts, c.bucket, c.acl);
    let content_type = crate::object::header(&parts.headers, "content-type").unwrap_or("");
    let boundary = multer::parse_boundary(content_type)
        .map_err(|_| OssError::invalid_argument("The multipart/form-data boundary is missing."))?;
    body.limit(state.opts.max_object_size + 1024 * 1024);
    let failure = Arc::new(Mutex::new(None));
    let mut multipart = multer::Multipart::new(body_stream(body, failure.clone()), boundary);
    let mut fields = Vec::new();
    while let Some(mut field) = multipart
        .next_field()
        .await
        .map_err(|e| form_error(&failure, e))?
    {
        let name = field.name().unwrap_or("").to_ascii_lowercase();
        if name != "file" {
            let value = text_field(&mut field, &failure).await?;
            fields.push((name, value));
            let total: usize = fields.iter().map(|(k, v)| k.len() + v.len()).sum();
            if fields.len() > MAX_FIELDS || total > MAX_FIELDS_BYTES {
                return Err(OssError::invalid_argument("The form has too many fields."));
            }
            continue;
        }
        let form = Form {
            fields,
            file_name: field.file_name().map(str::to_string),
            file_type: field.content_type().map(|m| m.to_string()),
        };
        let checked = check_form(state, bucket, acl, &form, c.ctx)?;
        let mut source = FileField {
            field,
            failure: failure.clone(),
        };
        let written = state.storage.write_temp(&mut source).await?;
        return store(c, &form, checked, written).await;
    }
    Err(
        OssError::invalid_argument("The file field is missing (it must be the form's last field).")
            .with("ArgumentName", "file"),
    )
}

/// What a verified form allows: the key, its headers, and the size range of the file.
struct Checked {
    key: String,
    headers: HeaderMap,
    length_range: Option<(u64, u64)>,
    /// From the `callback` field (and the `x:` fields as its variables).
    callback: Option<crate::callback::Callback>,
}

/// Verifies the form's signature and policy and the signer's permission, before any byte of
/// the file is stored.
fn check_form(
    state: &State,
    bucket: &str,
    acl: crate::context::Acl,
    form: &Form,
    ctx: &Context,
) -> Result<Checked, OssError> {
    let key = form.key()?;
    let headers = form.headers()?;
    let callback = crate::callback::parse(&headers, &state.own_ports)?;
    let now = time::OffsetDateTime::now_utc();
    let principal = signer(state, form, now)?;
    let mut length_range = None;
    if let Some(policy) = form.get("policy") {
        length_range = crate::post_policy::check(policy, bucket, &key, form_value(form), now)?;
    } else if !matches!(principal, Principal::Anonymous) {
        return Err(OssError::invalid_argument("The policy field is missing."));
    }
    let resource = crate::oss::resource(state, Some(bucket), Some(&key));
    let allowed = match &principal {
        Principal::Anonymous => crate::acl::anonymous_may(
            crate::op::Op::PostObject,
            crate::acl::effective(state, bucket, &key, acl)?,
        ),
        p => p.allows("oss:PutObject", &resource, ctx),
    };
    if !allowed {
        return Err(
            OssError::access_denied("Access denied by authorizer's policy.")
                .with("Action", "oss:PutObject")
                .with("Resource", resource),
        );
    }
    Ok(Checked {
        key,
        headers,
        length_range,
        callback,
    })
}

/// Looks a form field up for a policy condition (`$key`, `$content-type`, `$x-oss-meta-a`).
fn form_value(form: &Form) -> impl Fn(&str) -> Option<String> + '_ {
    move |name: &str| form.get(&name.to_ascii_lowercase()).map(str::to_string)
}

/// Who signed the form (V1 or V4), its signature checked; anonymous when unsigned.
fn signer(state: &State, form: &Form, now: time::OffsetDateTime) -> Result<Principal, OssError> {
    let token = form.get("x-oss-security-token");
    let policy = form.get("policy").unwrap_or("");
    let mismatch = || {
        OssError::new(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
        )
    };
    let (principal, ok) = if let Some(ak) = form.get("ossaccesskeyid") {
        let signature = form
            .get("signature")
            .ok_or_else(|| OssError::invalid_argument("The Signature field is missing."))?;
        let (secret, principal) = resolve(state, ak, token, now)?;
        let expected = oss_direct_wire::sign::v1_signature(&secret, policy);
        (
            principal,
            crate::auth::constant_time_eq(expected.as_bytes(), signature.as_bytes()),
        )
    } else if let Some(version) = form.get("x-oss-signature-version") {
        if version != "OSS4-HMAC-SHA256" {
            return Err(OssError::invalid_argument(
                "Invalid x-oss-signature-version.",
            ));
        }
        let missing = |f: &str| OssError::invalid_argument(format!("The {f} field is missing."));
        let credential = form
            .get("x-oss-credential")
            .ok_or_else(|| missing("x-oss-credential"))?;
        let timestamp = form
            .get("x-oss-date")
            .ok_or_else(|| missing("x-oss-date"))?;
        let signature = form
            .get("x-oss-signature")
            .ok_or_else(|| missing("x-oss-signature"))?;
        parse_v4_time(timestamp)
            .ok_or_else(|| OssError::invalid_argument("Invalid x-oss-date."))?;
        let (ak, date, region) = parse_credential(credential, timestamp, state)?;
        let (secret, principal) = resolve(state, &ak, token, now)?;
        let expected = oss_direct_wire::sign::v4_signature(&secret, &date, &region, policy);
        (
            principal,
            crate::auth::constant_time_eq(expected.as_bytes(), signature.as_bytes()),
        )
    } else {
        return Ok(Principal::Anonymous);
    };
    if policy.is_empty() {
        return Err(OssError::invalid_argument("The policy field is missing."));
    }
    if !ok {
        return Err(mismatch());
    }
    Ok(principal)
}

/// Stores the verified file and answers as `success_action_status` / `_redirect` say.
async fn store(
    c: &Call<'_>,
    form: &Form,
    checked: Checked,
    written: crate::storage::Written,
) -> Result<Resp, OssError> {
    let (state, target, bucket) = (c.state, c.target, c.bucket);
    if let Some((min, max)) = checked.length_range {
        if written.size < min || written.size > max {
            let code = if written.size < min {
                "EntityTooSmall"
            } else {
                "EntityTooLarge"
            };
            return Err(OssError::new(
                400,
                code,
                "Your proposed upload size is outside the policy's content-length-range.",
            ));
        }
    }
    let h = &checked.headers;
    let op = crate::op::Op::PutObject;
    if let Some(name) = crate::oss::unimplemented_header(op, h) {
        return Err(OssError::new(
            501,
            "NotImplemented",
            format!("oss-local does not implement the {name} field; nothing was stored."),
        ));
    }
    crate::object::check_md5(h, &written.md5)?;
    let forbid = crate::object::header(h, "x-oss-forbid-overwrite")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    if forbid && state.storage.head(bucket, &checked.key)?.is_some() {
        return Err(OssError::new(
            409,
            "FileAlreadyExists",
            "The object you specified already exists and can not be overwritten.",
        ));
    }
    let mut meta = ObjectMeta {
        key: checked.key.clone(),
        size: written.size,
        etag: hex::encode_upper(written.md5),
        crc64: written.crc64,
        content_type: crate::object::content_type(h),
        content_md5: Some(STANDARD.encode(written.md5)),
        last_modified: crate::storage::now_secs(),
        user_meta: crate::object::user_meta(h),
        headers: crate::object::stored_headers(h),
        object_type: "Normal".into(),
        acl: crate::acl::object_acl(h)?.flatten(),
        storage_class: crate::object::storage_class(h)?,
        tags: crate::tagging::from_header(h)?.unwrap_or_default(),
        ..ObjectMeta::default()
    };
    meta.data_file = String::new();
    let meta = state.storage.commit(bucket, meta, written.temp)?;
    let mut resp = answer(target, bucket, form, &meta)?;
    if checked.callback.is_some() && resp.status() == http::StatusCode::NO_CONTENT {
        // The callback's answer is relayed as the upload's, which a 204 could not carry.
        *resp.status_mut() = http::StatusCode::OK;
    }
    match &checked.callback {
        Some(cb) => crate::callback::run(c, cb, &meta, resp).await,
        None => Ok(resp),
    }
}

/// 204 (the default), 200, 201 with a `PostResponse` document, or 303 to
/// `success_action_redirect`.
fn answer(target: &Target, bucket: &str, form: &Form, meta: &ObjectMeta) -> Result<Resp, OssError> {
    let etag = format!("\"{}\"", meta.etag);
    let location = format!(
        "http://{}/{bucket}/{}",
        target.host,
        oss_direct_wire::sign::uri_encode(&meta.key, true)
    );
    let b = http::Response::builder()
        .header("etag", etag.as_str())
        .header("x-oss-hash-crc64ecma", meta.crc64.to_string())
        .header("content-md5", meta.content_md5.clone().unwrap_or_default());
    if let Some(redirect) = form
        .get("success_action_redirect")
        .filter(|r| !r.is_empty())
    {
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("bucket", bucket)
            .append_pair("key", &meta.key)
            .append_pair("etag", &etag)
            .finish();
        let sep = if redirect.contains('?') { '&' } else { '?' };
        return Ok(b
            .status(303)
            .header("location", format!("{redirect}{sep}{query}"))
            .header("content-length", "0")
            .body(Body::empty())
            .expect("valid response"));
    }
    let resp = match form.get("success_action_status") {
        Some("200") => b
            .status(200)
            .header("content-length", "0")
            .body(Body::empty()),
        Some("201") => {
            let doc = PostResponse {
                bucket,
                location: &location,
                key: &meta.key,
                etag: &etag,
            };
            b.status(201)
                .header("content-type", "application/xml")
                .body(Body::from(crate::xml::document("PostResponse", &doc)?))
        }
        _ => b.status(204).body(Body::empty()),
    };
    Ok(resp.expect("valid response"))
}

/// The PostObject answer with `success_action_status=201`.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct PostResponse<'a> {
    bucket: &'a str,
    location: &'a str,
    key: &'a str,
    #[serde(rename = "ETag")]
    etag: &'a str,
}
