//! Canned ACLs of buckets and objects (`private`, `public-read`, `public-read-write`; an object
//! may also have `default`, the bucket's), GetObjectAcl / PutObjectAcl, and what an anonymous
//! request may do under each.

use crate::context::{Acl, Call, Resp, State};
use crate::op::Op;
use crate::xml::{OssError, Owner};
use serde::Serialize;

fn bad_acl(header: &str) -> OssError {
    OssError::invalid_argument("no such bucket access control exists").with("ArgumentName", header)
}

/// The bucket ACL of `x-oss-acl` (`private` when absent).
pub(crate) fn bucket_acl(headers: &http::HeaderMap) -> Result<Acl, OssError> {
    match crate::object::header(headers, "x-oss-acl") {
        None => Ok(Acl::Private),
        Some(v) => Acl::parse(v).ok_or_else(|| bad_acl("x-oss-acl")),
    }
}

/// The object ACL of `x-oss-object-acl`: `Ok(None)` when absent, `Ok(Some(None))` for `default`.
pub(crate) fn object_acl(headers: &http::HeaderMap) -> Result<Option<Option<Acl>>, OssError> {
    match crate::object::header(headers, "x-oss-object-acl") {
        None => Ok(None),
        Some("default") => Ok(Some(None)),
        Some(v) => Acl::parse(v)
            .map(|a| Some(Some(a)))
            .ok_or_else(|| bad_acl("x-oss-object-acl")),
    }
}

/// The ACL that governs an object: its own, else the bucket's.
pub(crate) fn effective(
    state: &State,
    bucket: &str,
    key: &str,
    bucket_acl: Acl,
) -> Result<Acl, OssError> {
    Ok(state
        .storage
        .head(bucket, key)?
        .and_then(|m| m.acl)
        .unwrap_or(bucket_acl))
}

/// Whether an unsigned request may do `op` under `acl`.
pub(crate) fn anonymous_may(op: Op, acl: Acl) -> bool {
    let read = matches!(
        op,
        Op::GetObject | Op::HeadObject | Op::GetObjectMeta | Op::ListObjects | Op::ListObjectsV2
    );
    let write = matches!(
        op,
        Op::PutObject
            | Op::AppendObject
            | Op::PostObject
            | Op::InitiateMultipartUpload
            | Op::UploadPart
            | Op::CompleteMultipartUpload
            | Op::AbortMultipartUpload
            | Op::ListParts
            | Op::DeleteObject
    );
    match acl {
        Acl::Private => false,
        Acl::PublicRead => read,
        Acl::PublicReadWrite => read || write,
    }
}

/// The GetBucketAcl / GetObjectAcl answer.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct AccessControlPolicy<'a> {
    owner: Owner<'a>,
    access_control_list: AccessControlList<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct AccessControlList<'a> {
    grant: &'a str,
}

impl<'a> AccessControlPolicy<'a> {
    /// The account's ACL document granting `grant` (a canned ACL name, or `default`).
    pub fn new(account_id: &'a str, grant: &'a str) -> Self {
        Self {
            owner: Owner::account(account_id),
            access_control_list: AccessControlList { grant },
        }
    }

    /// The 200 answer.
    pub fn respond(&self) -> Result<Resp, OssError> {
        crate::xml::respond("AccessControlPolicy", self)
    }
}

/// GetObjectAcl.
pub(crate) fn get_object_acl(c: &Call<'_>) -> Result<Resp, OssError> {
    let (state, bucket, key) = (c.state, c.bucket, c.key);
    let meta = state
        .storage
        .head(bucket, key)?
        .ok_or_else(|| OssError::no_such_key(key))?;
    let grant = meta.acl.map_or("default", Acl::name);
    AccessControlPolicy::new(&state.opts.account_id, grant).respond()
}

/// PutObjectAcl (`x-oss-object-acl`).
pub(crate) fn put_object_acl(c: &Call<'_>) -> Result<Resp, OssError> {
    let (state, parts, bucket, key) = (c.state, c.parts, c.bucket, c.key);
    let acl = object_acl(&parts.headers)?
        .ok_or_else(|| OssError::invalid_argument("The x-oss-object-acl header is missing."))?;
    state.storage.update_meta(bucket, key, |m| m.acl = acl)?;
    Ok(http::Response::builder()
        .status(200)
        .header("content-length", "0")
        .body(axum::body::Body::empty())
        .expect("valid response"))
}
