//! The OSS API front: which bucket, key and operation a request is, then fault injection,
//! authentication, policy, and dispatch to the handlers.

use crate::auth::authenticate;
use crate::body::RequestBody;
use crate::context::{Acl, Call, Principal, Target};
use crate::context::{Resp, State};
use crate::op::Op;
use crate::xml::OssError;
use axum::body::Body;
use http::{Method, Response};
use oss_direct_wire::policy::Context;
use oss_direct_wire::sign::SignableRequest;
use std::net::{IpAddr, SocketAddr};

/// Request headers that change what OSS stores or how, and that oss-local does not implement:
/// refused rather than dropped (exact names, then prefixes).
const UNIMPLEMENTED_HEADERS: &[&str] = &[
    "x-oss-symlink-target",
    "x-oss-object-worm-mode",
    "x-oss-object-worm-retain-until-date",
    "x-oss-hdfs-ranger",
];
const UNIMPLEMENTED_HEADER_PREFIXES: &[&str] = &["x-oss-server-side-", "x-oss-worm-"];

/// Headers oss-local implements for some operations only: `Some(false)` where the operation
/// would store what they ask but oss-local does not implement that there; on operations that
/// store nothing they could apply to (reads, listings, UploadPart, UploadPartCopy, ...) OSS
/// ignores them, and so does oss-local.
fn implemented_for(op: Op, header: &str) -> Option<bool> {
    let object_writes = matches!(
        op,
        Op::PutObject | Op::CopyObject | Op::InitiateMultipartUpload | Op::AppendObject
    );
    let stores = object_writes
        || matches!(
            op,
            Op::CompleteMultipartUpload
                | Op::PutObjectAcl
                | Op::PutObjectTagging
                | Op::PutBucket
                | Op::PutBucketAcl
                | Op::PostObject
        );
    let implemented = match header {
        "x-oss-storage-class" | "x-oss-tagging" => object_writes,
        "x-oss-object-acl" => {
            object_writes || matches!(op, Op::PutObjectAcl | Op::CompleteMultipartUpload)
        }
        "x-oss-tagging-directive" => op == Op::CopyObject,
        "x-oss-acl" => matches!(op, Op::PutBucket | Op::PutBucketAcl),
        _ => return None,
    };
    Some(implemented || !stores)
}

/// The first request header oss-local would have to drop for `op`, if any.
pub(crate) fn unimplemented_header(op: Op, headers: &http::HeaderMap) -> Option<String> {
    headers.keys().map(|n| n.as_str()).find_map(|n| {
        let hit = match implemented_for(op, n) {
            Some(implemented) => !implemented,
            None => {
                UNIMPLEMENTED_HEADERS.contains(&n)
                    || UNIMPLEMENTED_HEADER_PREFIXES
                        .iter()
                        .any(|p| n.starts_with(p))
            }
        };
        hit.then(|| n.to_string())
    })
}

fn decode(s: &str) -> Result<String, OssError> {
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| OssError::invalid_argument("The request URI is not valid UTF-8."))
}

/// The bucket named by a virtual-hosted Host header (`bucket.127.0.0.1:9000`,
/// `bucket.localhost:9000`, `bucket.oss-cn-hangzhou.aliyuncs.com`), if any.
fn host_bucket(host: &str) -> Option<&str> {
    let hostname = if host.starts_with('[') {
        return None;
    } else {
        host.rsplit_once(':').map_or(host, |(h, _)| h)
    };
    if hostname.parse::<IpAddr>().is_ok() {
        return None;
    }
    let (first, rest) = hostname.split_once('.')?;
    let endpoint_like = rest == "localhost"
        || rest.parse::<IpAddr>().is_ok()
        || rest.starts_with("oss-")
        || rest.ends_with(".localhost");
    (endpoint_like && !first.is_empty()).then_some(first)
}

/// Checks an object name the way OSS does, and refuses `.`/`..` segments.
pub(crate) fn check_key(key: &str) -> Result<(), OssError> {
    let invalid = || {
        OssError::new(
            400,
            "InvalidObjectName",
            "The specified object is not valid.",
        )
    };
    if key.len() > 1023 {
        return Err(OssError::new(400, "KeyTooLong", "Your key is too long."));
    }
    if key.starts_with('/') || key.starts_with('\\') {
        return Err(invalid());
    }
    if key.split(['/', '\\']).any(|seg| seg == "." || seg == "..") {
        return Err(invalid());
    }
    if key.chars().any(|c| c == '\0') {
        return Err(invalid());
    }
    Ok(())
}

pub(crate) fn parse_target(parts: &http::request::Parts) -> Result<Target, OssError> {
    let host = parts
        .headers
        .get(http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let mut query = Vec::new();
    for pair in parts.uri.query().unwrap_or("").split('&') {
        if pair.is_empty() {
            continue;
        }
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        // Form rules in the query: SDKs built on `urlencode` send a space as `+` (and a plus
        // as `%2B`).
        query.push((decode(&k.replace('+', " "))?, decode(&v.replace('+', " "))?));
    }
    let path = parts.uri.path();
    let path = path.strip_prefix('/').unwrap_or(path);
    let (bucket, raw_key) = match host_bucket(&host) {
        Some(b) => (Some(b.to_string()), path),
        None => {
            let (b, k) = path.split_once('/').unwrap_or((path, ""));
            ((!b.is_empty()).then(|| b.to_string()), k)
        }
    };
    let key = if raw_key.is_empty() {
        None
    } else {
        let k = decode(raw_key)?;
        check_key(&k)?;
        Some(k)
    };
    Ok(Target {
        bucket,
        key,
        query,
        host,
    })
}

/// Turns an error into the XML answer (no body for HEAD).
pub(crate) fn error_response(e: &OssError, request_id: &str, host: &str, head: bool) -> Resp {
    let xml = e.to_xml(request_id, host);
    let mut b = Response::builder().status(e.status);
    for (name, value) in &e.headers {
        b = b.header(*name, value.as_str());
    }
    if head {
        // A HEAD answer has no body: OSS sends the error document base64 in `x-oss-err`, so a
        // client can tell NoSuchKey from NoSuchBucket.
        use base64::Engine;
        let err = base64::engine::general_purpose::STANDARD.encode(&xml);
        b = b.header("content-length", "0").header("x-oss-err", err);
        return b.body(Body::empty()).expect("valid response");
    }
    b.header("content-type", "application/xml")
        .body(Body::from(xml))
        .expect("valid response")
}

/// How much of an unread request body is read and dropped before an error answer.
const DRAIN_LIMIT: u64 = 256 * 1024 * 1024;
/// How long a client that announced a body but sends nothing may hold the connection before the
/// error answer goes out anyway.
const DRAIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Reads and drops what the client is still sending (so it sees the error instead of a reset),
/// within [`DRAIN_LIMIT`] bytes and [`DRAIN_TIMEOUT`].
async fn drain(body: &mut RequestBody, expects_continue: bool) {
    let _ = tokio::time::timeout(DRAIN_TIMEOUT, body.drain(DRAIN_LIMIT, expects_continue)).await;
}

pub(crate) async fn handle(
    state: &State,
    parts: &http::request::Parts,
    mut body: RequestBody,
    peer: SocketAddr,
    request_id: &str,
) -> Resp {
    let (answer, host) = answer(state, parts, &mut body, peer, request_id).await;
    match answer {
        Ok(resp) => resp,
        Err(e) => {
            // Every refusal first reads what the client is still sending, so it sees the error
            // rather than a reset, and a connection it reuses is still open.
            let expects_continue = parts
                .headers
                .get(http::header::EXPECT)
                .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
            drain(&mut body, expects_continue).await;
            error_response(&e, request_id, &host, parts.method == Method::HEAD)
        }
    }
}

/// The answer to one request, or why it is refused, and the Host it named (for `HostId`).
async fn answer(
    state: &State,
    parts: &http::request::Parts,
    body: &mut RequestBody,
    peer: SocketAddr,
    request_id: &str,
) -> (Result<Resp, OssError>, String) {
    let target = match parse_target(parts) {
        Ok(t) => t,
        Err(e) => return (Err(e), String::new()),
    };
    let op = Op::of(&parts.method, &parts.headers, &target);
    let planned = state.faults.plan(op.name());
    if let Some(delay) = planned.delay {
        tokio::time::sleep(delay).await;
    }
    if let Some((status, code)) = planned.fail {
        let e = OssError::new(status, &code, "Injected by oss-local fault injection.");
        return (Err(e), target.host);
    }
    // A GetObject has no request body to cut: its response body is cut instead.
    let cut_response = planned.cut_after.filter(|_| op == Op::GetObject);
    if let Some(after) = planned.cut_after.filter(|_| op != Op::GetObject) {
        if after == 0 {
            body.cut_now().await;
        }
        body.cut_after(after);
    }
    let result = match run(state, parts, &target, op, body, peer, request_id).await {
        Ok(r) => Ok(match cut_response {
            Some(after) => crate::body::cut_response(r, after, body.cut_handle()),
            None => r,
        }),
        Err(e) => {
            if e.status.is_server_error() || e.status.as_u16() == 403 {
                tracing::info!(op = op.name(), code = %e.code, "refused");
            }
            Err(e)
        }
    };
    (result, target.host)
}

/// Looks the bucket up, authenticates and authorises (PostObject's form does that in its
/// handler), then hands one [`Call`] to the handler.
async fn run(
    state: &State,
    parts: &http::request::Parts,
    target: &Target,
    op: Op,
    body: &mut RequestBody,
    peer: SocketAddr,
    request_id: &str,
) -> Result<Resp, OssError> {
    let bucket = target.bucket.as_deref();
    let acl = match bucket {
        Some(b) if op != Op::PutBucket => {
            crate::bucket::lookup(state, b)?
                .ok_or_else(|| no_such_bucket(b))?
                .acl
        }
        _ => Acl::Private,
    };
    let ctx = context(op, target, peer);
    let principal = if op == Op::PostObject {
        Principal::Anonymous
    } else {
        let principal = authenticate_request(state, parts, target)?;
        authorize(state, op, target, &principal, acl, &ctx)?;
        if let Some(h) = unimplemented_header(op, &parts.headers) {
            return Err(OssError::new(
                501,
                "NotImplemented",
                format!("oss-local does not implement the {h} header here; nothing was changed."),
            )
            .with("Header", h));
        }
        principal
    };
    let call = Call {
        state,
        parts,
        target,
        bucket: bucket.unwrap_or(""),
        key: target.key.as_deref().unwrap_or(""),
        principal: &principal,
        ctx: &ctx,
        request_id,
        op,
        acl,
    };
    // Without a bucket only ListBuckets exists; `Op::of` made anything else `Unsupported`,
    // which `dispatch` refuses.
    dispatch(&call, body).await
}

/// Who signed the request (header or presigned URL signature, or nobody).
fn authenticate_request(
    state: &State,
    parts: &http::request::Parts,
    target: &Target,
) -> Result<Principal, OssError> {
    let signable = SignableRequest {
        method: parts.method.as_str(),
        bucket: target.bucket.as_deref(),
        key: target.key.as_deref(),
        query: &target.query,
        headers: &parts.headers,
    };
    authenticate(state, &signable, time::OffsetDateTime::now_utc())
}

pub(crate) fn no_such_bucket(bucket: &str) -> OssError {
    OssError::new(404, "NoSuchBucket", "The specified bucket does not exist.")
        .with("BucketName", bucket)
}

/// The RAM resource a request acts on.
pub(crate) fn resource(state: &State, bucket: Option<&str>, key: Option<&str>) -> String {
    let (region, account) = (&state.opts.region, &state.opts.account_id);
    match (bucket, key) {
        (Some(b), Some(k)) => format!("acs:oss:{region}:{account}:{b}/{k}"),
        (Some(b), None) => format!("acs:oss:{region}:{account}:{b}"),
        (None, _) => format!("acs:oss:{region}:{account}:*"),
    }
}

/// Context keys for policy conditions.
fn context(op: Op, target: &Target, peer: SocketAddr) -> Context {
    let mut ctx = Context::default()
        .with("acs:SourceIp", peer.ip().to_string())
        .with("acs:SecureTransport", "false");
    if matches!(
        op,
        Op::ListObjects | Op::ListObjectsV2 | Op::ListMultipartUploads
    ) {
        for (param, key) in [("prefix", "oss:Prefix"), ("delimiter", "oss:Delimiter")] {
            if let Some(v) = target.param(param) {
                ctx = ctx.with(key, v);
            }
        }
    }
    ctx
}

/// Whether the principal may do `op`: its policies, or for an anonymous request the ACL.
fn authorize(
    state: &State,
    op: Op,
    target: &Target,
    principal: &Principal,
    bucket_acl: Acl,
    ctx: &Context,
) -> Result<(), OssError> {
    let resource = resource(state, target.bucket.as_deref(), target.key.as_deref());
    match principal {
        Principal::Anonymous => {
            let acl = match (target.bucket.as_deref(), target.key.as_deref()) {
                (Some(b), Some(k)) => crate::acl::effective(state, b, k, bucket_acl)?,
                _ => bucket_acl,
            };
            if !crate::acl::anonymous_may(op, acl) {
                return Err(OssError::access_denied(
                    "You have no right to access this object because of bucket acl.",
                ));
            }
        }
        // Each key of a DeleteMultipleObjects is checked by its handler.
        _ if op == Op::DeleteMultipleObjects => {}
        p => {
            if !p.allows(op.action(), &resource, ctx) {
                return Err(
                    OssError::access_denied("Access denied by authorizer's policy.")
                        .with("Action", op.action())
                        .with("Resource", resource),
                );
            }
        }
    }
    Ok(())
}

/// The handler of the call's operation.
async fn dispatch(c: &Call<'_>, body: &mut RequestBody) -> Result<Resp, OssError> {
    use crate::{acl, append, bucket, copy, delete_many, list, multipart, object, post, tagging};
    match c.op {
        Op::PutObject => object::put(c, body).await,
        Op::AppendObject => append::append(c, body).await,
        Op::PostObject => post::post_object(c, body).await,
        Op::GetObject => object::get(c).await,
        Op::HeadObject | Op::GetObjectMeta => object::head(c),
        Op::DeleteObject => object::delete(c),
        Op::DeleteMultipleObjects => delete_many::delete_many(c, body).await,
        Op::ListObjects | Op::ListObjectsV2 => list::list(c),
        Op::InitiateMultipartUpload => multipart::initiate(c),
        Op::UploadPart => multipart::upload_part(c, body).await,
        Op::CompleteMultipartUpload => multipart::complete(c, body).await,
        Op::AbortMultipartUpload => multipart::abort(c).await,
        Op::ListParts => multipart::list_parts(c),
        Op::ListMultipartUploads => multipart::list_uploads(c),
        Op::CopyObject => copy::copy_object(c).await,
        Op::UploadPartCopy => copy::upload_part_copy(c).await,
        Op::GetBucketInfo => bucket::info(c),
        Op::GetBucketLocation => bucket::location(c),
        Op::PutBucket => bucket::put_bucket(c, body).await,
        Op::DeleteBucket => bucket::delete_bucket(c),
        Op::GetBucketAcl => bucket::get_acl(c),
        Op::PutBucketAcl => bucket::put_acl(c),
        Op::ListBuckets => bucket::list_buckets(c),
        Op::GetObjectAcl => acl::get_object_acl(c),
        Op::PutObjectAcl => acl::put_object_acl(c),
        Op::GetObjectTagging => tagging::get(c),
        Op::PutObjectTagging => tagging::put(c, body).await,
        Op::DeleteObjectTagging => tagging::delete(c),
        Op::Unsupported => Err(OssError::new(
            501,
            "NotImplemented",
            format!(
                "oss-local does not implement {} with these parameters.",
                c.parts.method
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn virtual_host_detection() {
        assert_eq!(
            host_bucket("demo-bucket.127.0.0.1:9000"),
            Some("demo-bucket")
        );
        assert_eq!(
            host_bucket("demo-bucket.localhost:9000"),
            Some("demo-bucket")
        );
        assert_eq!(host_bucket("b.oss-cn-hangzhou.aliyuncs.com"), Some("b"));
        assert_eq!(host_bucket("127.0.0.1:9000"), None);
        assert_eq!(host_bucket("localhost:9000"), None);
        assert_eq!(host_bucket("[::1]:9000"), None);
    }

    #[test]
    fn keys_with_dot_segments_are_refused() {
        assert!(check_key("a/b.c").is_ok());
        assert!(check_key("a/../b").is_err());
        assert!(check_key("..").is_err());
        assert!(check_key("./a").is_err());
        assert!(check_key("/a").is_err());
        assert!(check_key(&"k".repeat(1024)).is_err());
    }
}
