//! The OSS API front: which bucket, key and operation a request is, then fault injection,
//! authentication, policy, and dispatch to the handlers.

use crate::acl::Acl;
use crate::auth::{authenticate, Principal};
use crate::body::RequestBody;
use crate::server::{Resp, State};
use crate::xml::OssError;
use axum::body::Body;
use http::{Method, Response};
use oss_direct_wire::policy::Context;
use oss_direct_wire::sign::SignableRequest;
use std::net::{IpAddr, SocketAddr};

/// The addressed bucket and key, and the decoded query.
#[derive(Debug)]
pub(crate) struct Target {
    pub bucket: Option<String>,
    pub key: Option<String>,
    pub query: Vec<(String, String)>,
    /// The Host header, for `HostId` and `Location`.
    pub host: String,
}

impl Target {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn has(&self, name: &str) -> bool {
        self.query.iter().any(|(k, _)| k == name)
    }
}

/// An OSS operation, named as in the API reference (and in fault rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    PutObject,
    GetObject,
    HeadObject,
    GetObjectMeta,
    DeleteObject,
    ListObjects,
    ListObjectsV2,
    InitiateMultipartUpload,
    UploadPart,
    CompleteMultipartUpload,
    AbortMultipartUpload,
    ListParts,
    ListMultipartUploads,
    GetBucketInfo,
    GetBucketLocation,
    CopyObject,
    UploadPartCopy,
    DeleteMultipleObjects,
    PutBucket,
    DeleteBucket,
    ListBuckets,
    GetBucketAcl,
    PutBucketAcl,
    GetObjectAcl,
    PutObjectAcl,
    GetObjectTagging,
    PutObjectTagging,
    DeleteObjectTagging,
    AppendObject,
    PostObject,
    Unsupported,
}

impl Op {
    pub fn name(self) -> &'static str {
        match self {
            Op::PutObject => "PutObject",
            Op::GetObject => "GetObject",
            Op::HeadObject => "HeadObject",
            Op::GetObjectMeta => "GetObjectMeta",
            Op::DeleteObject => "DeleteObject",
            Op::ListObjects => "ListObjects",
            Op::ListObjectsV2 => "ListObjectsV2",
            Op::InitiateMultipartUpload => "InitiateMultipartUpload",
            Op::UploadPart => "UploadPart",
            Op::CompleteMultipartUpload => "CompleteMultipartUpload",
            Op::AbortMultipartUpload => "AbortMultipartUpload",
            Op::ListParts => "ListParts",
            Op::ListMultipartUploads => "ListMultipartUploads",
            Op::GetBucketInfo => "GetBucketInfo",
            Op::GetBucketLocation => "GetBucketLocation",
            Op::CopyObject => "CopyObject",
            Op::UploadPartCopy => "UploadPartCopy",
            Op::DeleteMultipleObjects => "DeleteMultipleObjects",
            Op::PutBucket => "PutBucket",
            Op::DeleteBucket => "DeleteBucket",
            Op::ListBuckets => "ListBuckets",
            Op::GetBucketAcl => "GetBucketAcl",
            Op::PutBucketAcl => "PutBucketAcl",
            Op::GetObjectAcl => "GetObjectAcl",
            Op::PutObjectAcl => "PutObjectAcl",
            Op::GetObjectTagging => "GetObjectTagging",
            Op::PutObjectTagging => "PutObjectTagging",
            Op::DeleteObjectTagging => "DeleteObjectTagging",
            Op::AppendObject => "AppendObject",
            Op::PostObject => "PostObject",
            Op::Unsupported => "Unsupported",
        }
    }

    /// The RAM action a policy must allow.
    pub fn action(self) -> &'static str {
        match self {
            Op::PutObject
            | Op::InitiateMultipartUpload
            | Op::UploadPart
            | Op::CompleteMultipartUpload
            | Op::CopyObject
            | Op::UploadPartCopy
            | Op::AppendObject
            | Op::PostObject => "oss:PutObject",
            Op::GetObject | Op::HeadObject | Op::GetObjectMeta => "oss:GetObject",
            Op::DeleteObject | Op::DeleteMultipleObjects => "oss:DeleteObject",
            Op::ListObjects | Op::ListObjectsV2 => "oss:ListObjects",
            Op::AbortMultipartUpload => "oss:AbortMultipartUpload",
            Op::ListParts => "oss:ListParts",
            Op::ListMultipartUploads => "oss:ListMultipartUploads",
            Op::GetBucketInfo => "oss:GetBucketInfo",
            Op::GetBucketLocation => "oss:GetBucketLocation",
            Op::PutBucket => "oss:PutBucket",
            Op::DeleteBucket => "oss:DeleteBucket",
            Op::ListBuckets => "oss:ListBuckets",
            Op::GetBucketAcl => "oss:GetBucketAcl",
            Op::PutBucketAcl => "oss:PutBucketAcl",
            Op::GetObjectAcl => "oss:GetObjectAcl",
            Op::PutObjectAcl => "oss:PutObjectAcl",
            Op::GetObjectTagging => "oss:GetObjectTagging",
            Op::PutObjectTagging => "oss:PutObjectTagging",
            Op::DeleteObjectTagging => "oss:DeleteObjectTagging",
            Op::Unsupported => "oss:Unsupported",
        }
    }

    fn of(method: &Method, headers: &http::HeaderMap, t: &Target) -> Op {
        if t.bucket.is_none() {
            return if method == Method::GET
                && !t.query.iter().any(|(k, _)| SELECTORS.contains(&k.as_str()))
            {
                Op::ListBuckets
            } else {
                Op::Unsupported
            };
        }
        // An operation is chosen by its sub-resource parameters (`?uploads`, `?acl`, ...); one
        // this does not implement is never mistaken for another operation. Other parameters
        // OSS does not know are ignored, as OSS ignores them.
        let only = |allowed: &[&str]| {
            t.query
                .iter()
                .all(|(k, _)| !SELECTORS.contains(&k.as_str()) || allowed.contains(&k.as_str()))
        };
        let sub = |name: &str| t.has(name) && only(&[name]);
        if t.key.is_some() {
            Self::object_op(method, headers, t, &only, &sub)
        } else {
            match method.as_str() {
                "GET" if sub("uploads") => Op::ListMultipartUploads,
                "GET" if sub("bucketInfo") => Op::GetBucketInfo,
                "GET" if sub("location") => Op::GetBucketLocation,
                "GET" if sub("acl") => Op::GetBucketAcl,
                "PUT" if sub("acl") => Op::PutBucketAcl,
                "GET" if t.param("list-type") == Some("2") && only(&[]) => Op::ListObjectsV2,
                "GET" if only(&[]) => Op::ListObjects,
                "PUT" if only(&[]) => Op::PutBucket,
                "DELETE" if only(&[]) => Op::DeleteBucket,
                "POST" if sub("delete") => Op::DeleteMultipleObjects,
                "POST" if only(&[]) && is_form(headers) => Op::PostObject,
                _ => Op::Unsupported,
            }
        }
    }

    fn object_op(
        method: &Method,
        headers: &http::HeaderMap,
        t: &Target,
        only: &dyn Fn(&[&str]) -> bool,
        sub: &dyn Fn(&str) -> bool,
    ) -> Op {
        let copy = headers.contains_key("x-oss-copy-source");
        match method.as_str() {
            "PUT" if t.has("uploadId") && only(&["uploadId", "partNumber"]) => {
                if copy {
                    Op::UploadPartCopy
                } else {
                    Op::UploadPart
                }
            }
            "PUT" if only(&[]) && copy => Op::CopyObject,
            "PUT" if only(&[]) => Op::PutObject,
            "PUT" if sub("acl") => Op::PutObjectAcl,
            "PUT" if sub("tagging") => Op::PutObjectTagging,
            "POST" if sub("uploads") => Op::InitiateMultipartUpload,
            "POST" if sub("uploadId") => Op::CompleteMultipartUpload,
            "POST" if sub("append") => Op::AppendObject,
            "GET" if sub("uploadId") => Op::ListParts,
            "GET" if sub("acl") => Op::GetObjectAcl,
            "GET" if sub("tagging") => Op::GetObjectTagging,
            "GET" if only(&["x-oss-process"]) => Op::GetObject,
            "HEAD" if sub("objectMeta") => Op::GetObjectMeta,
            "HEAD" if only(&[]) => Op::HeadObject,
            "DELETE" if sub("uploadId") => Op::AbortMultipartUpload,
            "DELETE" if sub("tagging") => Op::DeleteObjectTagging,
            "DELETE" if only(&[]) => Op::DeleteObject,
            _ => Op::Unsupported,
        }
    }
}

/// A `multipart/form-data` body (PostObject).
fn is_form(headers: &http::HeaderMap) -> bool {
    headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("multipart/form-data")
        })
}

/// Query parameters that select an operation (OSS's sub-resources, less the ones that are
/// only arguments such as `partNumber`, `response-*` or the signature's).
const SELECTORS: &[&str] = &[
    "acl",
    "append",
    "bucketInfo",
    "cname",
    "comp",
    "cors",
    "delete",
    "encryption",
    "group",
    "inventory",
    "lifecycle",
    "link",
    "live",
    "location",
    "logging",
    "objectInfo",
    "objectMeta",
    "policy",
    "qos",
    "qosInfo",
    "referer",
    "replication",
    "replicationLocation",
    "replicationProgress",
    "requestPayment",
    "restore",
    "stat",
    "status",
    "style",
    "symlink",
    "tagging",
    "transferAcceleration",
    "uploadId",
    "uploads",
    "versionId",
    "versioning",
    "versions",
    "vod",
    "website",
    "worm",
    "wormExtend",
    "wormId",
    "x-oss-async-process",
    "x-oss-process",
    "regionList",
    "resourceGroup",
    "accessPoint",
    "metaQuery",
    "userDefinedLogFieldsConfig",
    "bucketArchiveDirectRead",
    "responseHeader",
    "httpsConfig",
    "publicAccessBlock",
    "dataRedundancyTransition",
    "redundancyTransition",
    "overwriteConfig",
];

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
    let head = parts.method == Method::HEAD;
    let target = match parse_target(parts) {
        Ok(t) => t,
        Err(e) => return error_response(&e, request_id, "", head),
    };
    let op = Op::of(&parts.method, &parts.headers, &target);
    let planned = state.faults.plan(op.name());
    if let Some(delay) = planned.delay {
        tokio::time::sleep(delay).await;
    }
    let expects_continue = parts
        .headers
        .get(http::header::EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    if let Some((status, code)) = planned.fail {
        let e = OssError::new(status, &code, "Injected by oss-local fault injection.");
        drain(&mut body, expects_continue).await;
        return error_response(&e, request_id, &target.host, head);
    }
    // A GetObject has no request body to cut: its response body is cut instead.
    let cut_response = planned.cut_after.filter(|_| op == Op::GetObject);
    if let Some(after) = planned.cut_after.filter(|_| op != Op::GetObject) {
        if after == 0 {
            body.cut_now().await;
        }
        body.cut_after(after);
    }
    match run(state, parts, &target, op, &mut body, peer, request_id).await {
        Ok(r) => match cut_response {
            Some(after) => crate::body::cut_response(r, after, body.cut_handle()),
            None => r,
        },
        Err(e) => {
            if e.status.is_server_error() || e.status.as_u16() == 403 {
                tracing::info!(op = op.name(), code = %e.code, "refused");
            }
            // Read what the client is still sending, so it sees the error instead of a reset.
            drain(&mut body, expects_continue).await;
            error_response(&e, request_id, &target.host, head)
        }
    }
}

async fn run(
    state: &State,
    parts: &http::request::Parts,
    target: &Target,
    op: Op,
    body: &mut RequestBody,
    peer: SocketAddr,
    request_id: &str,
) -> Result<Resp, OssError> {
    if op == Op::PostObject {
        return crate::post::post_object(state, parts, target, body, peer, request_id).await;
    }
    let bucket = target.bucket.as_deref();
    let acl = match bucket {
        Some(b) if op != Op::PutBucket => {
            crate::bucket::lookup(state, b)?
                .ok_or_else(|| no_such_bucket(b))?
                .acl
        }
        _ => Acl::Private,
    };
    let signable = SignableRequest {
        method: parts.method.as_str(),
        bucket,
        key: target.key.as_deref(),
        query: &target.query,
        headers: &parts.headers,
    };
    let principal = authenticate(state, &signable, time::OffsetDateTime::now_utc())?;
    let ctx = context(op, target, peer);
    authorize(state, op, target, &principal, acl, &ctx)?;
    if let Some(h) = unimplemented_header(op, &parts.headers) {
        return Err(OssError::new(
            501,
            "NotImplemented",
            format!("oss-local does not implement the {h} header here; nothing was changed."),
        )
        .with("Header", h));
    }
    let Some(bucket) = bucket else {
        return crate::bucket::list_buckets(state, target);
    };
    let call = Call {
        state,
        parts,
        target,
        bucket,
        key: target.key.as_deref().unwrap_or(""),
        principal: &principal,
        ctx: &ctx,
        request_id,
        acl,
    };
    dispatch(&call, op, body).await
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

/// One authorised request to a bucket, for the handlers.
pub(crate) struct Call<'a> {
    pub state: &'a State,
    pub parts: &'a http::request::Parts,
    pub target: &'a Target,
    pub bucket: &'a str,
    pub key: &'a str,
    pub principal: &'a Principal,
    pub ctx: &'a Context,
    pub request_id: &'a str,
    /// The bucket's ACL.
    pub acl: Acl,
}

async fn dispatch(c: &Call<'_>, op: Op, body: &mut RequestBody) -> Result<Resp, OssError> {
    let (state, parts, target, bucket, key) = (c.state, c.parts, c.target, c.bucket, c.key);
    match op {
        Op::PutObject => crate::object::put(c, body).await,
        Op::AppendObject => crate::append::append(c, body).await,
        Op::GetObject => {
            crate::object::get(state, parts, target, bucket, key, c.principal, c.ctx).await
        }
        Op::HeadObject | Op::GetObjectMeta => crate::object::head(state, parts, bucket, key),
        Op::DeleteObject => crate::object::delete(state, bucket, key),
        Op::ListObjects | Op::ListObjectsV2 => {
            crate::list::list(state, target, bucket, op == Op::ListObjectsV2)
        }
        Op::InitiateMultipartUpload => crate::multipart::initiate(c),
        Op::UploadPart => {
            crate::multipart::upload_part(state, parts, target, bucket, key, body).await
        }
        Op::CompleteMultipartUpload => crate::multipart::complete(c, body).await,
        Op::AbortMultipartUpload => crate::multipart::abort(state, target, bucket, key).await,
        Op::ListParts => crate::multipart::list_parts(state, target, bucket, key),
        Op::ListMultipartUploads => crate::multipart::list_uploads(state, target, bucket),
        Op::GetBucketInfo => crate::bucket::info(state, bucket, c.acl),
        Op::GetBucketLocation => crate::bucket::location(state),
        Op::PutBucket => crate::bucket::put_bucket(state, parts, bucket, body).await,
        Op::DeleteBucket => crate::bucket::delete_bucket(state, bucket),
        Op::GetBucketAcl => crate::bucket::get_acl(state, c.acl),
        Op::PutBucketAcl => crate::bucket::put_acl(state, parts, bucket),
        Op::GetObjectAcl => crate::acl::get_object_acl(state, bucket, key),
        Op::PutObjectAcl => crate::acl::put_object_acl(state, parts, bucket, key),
        Op::GetObjectTagging => crate::tagging::get(state, bucket, key),
        Op::PutObjectTagging => crate::tagging::put(state, bucket, key, body).await,
        Op::DeleteObjectTagging => crate::tagging::delete(state, bucket, key),
        Op::DeleteMultipleObjects => {
            let (p, x) = (c.principal, c.ctx);
            crate::delete_many::delete_many(state, parts, target, bucket, body, p, x).await
        }
        Op::CopyObject | Op::UploadPartCopy => {
            let caller = crate::copy::Caller {
                principal: c.principal,
                ctx: c.ctx,
            };
            if op == Op::CopyObject {
                crate::copy::copy_object(c, caller).await
            } else {
                crate::copy::upload_part_copy(state, parts, target, bucket, key, caller).await
            }
        }
        Op::ListBuckets | Op::PostObject | Op::Unsupported => Err(OssError::new(
            501,
            "NotImplemented",
            format!(
                "oss-local does not implement {} with these parameters.",
                parts.method
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
