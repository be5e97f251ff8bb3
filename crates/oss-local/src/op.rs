//! Which OSS operation a request is: chosen by method and sub-resource parameters, named as in
//! the API reference (and in fault rules), with the RAM action a policy must allow.

use crate::context::Target;
use http::Method;

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

    /// The operation a request asks for (`Unsupported` when oss-local has none for it).
    pub fn of(method: &Method, headers: &http::HeaderMap, t: &Target) -> Op {
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
