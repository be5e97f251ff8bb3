//! Bucket-level reads: GetBucketInfo (`?bucketInfo`) and GetBucketLocation (`?location`), so
//! clients can check a bucket and its region.

use crate::auth::iso8601;
use crate::context::Acl;
use crate::context::{Call, Resp, State};
use crate::xml::{OssError, Owner};
use serde::Serialize;

fn creation_date(state: &State, bucket: &str) -> String {
    if let Ok(Some(m)) = state.storage.bucket_meta(bucket) {
        return iso8601(
            time::OffsetDateTime::from_unix_timestamp(m.created)
                .unwrap_or(time::OffsetDateTime::UNIX_EPOCH),
        );
    }
    let t = std::fs::metadata(state.storage.bucket_dir(bucket))
        .and_then(|m| m.created().or_else(|_| m.modified()))
        .map(time::OffsetDateTime::from)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    iso8601(t)
}

/// GetBucketInfo.
pub(crate) fn info(c: &Call<'_>) -> Result<Resp, OssError> {
    let (state, bucket, acl) = (c.state, c.bucket, c.acl);
    let (region, account) = (&state.opts.region, state.opts.account_id.as_str());
    let bucket = BucketInfo {
        creation_date: creation_date(state, bucket),
        extranet_endpoint: format!("oss-{region}.aliyuncs.com"),
        intranet_endpoint: format!("oss-{region}-internal.aliyuncs.com"),
        location: format!("oss-{region}"),
        name: bucket,
        storage_class: "Standard",
        data_redundancy_type: "LRS",
        owner: InfoOwner {
            display_name: account,
            id: account,
        },
        access_control_list: Grant { grant: acl.name() },
        comment: "oss-local",
    };
    crate::xml::respond("BucketInfo", &BucketInfoDocument { bucket })
}

/// The GetBucketInfo answer: `<BucketInfo><Bucket>...</Bucket></BucketInfo>`.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct BucketInfoDocument<'a> {
    bucket: BucketInfo<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct BucketInfo<'a> {
    creation_date: String,
    extranet_endpoint: String,
    intranet_endpoint: String,
    location: String,
    name: &'a str,
    storage_class: &'a str,
    data_redundancy_type: &'a str,
    owner: InfoOwner<'a>,
    access_control_list: Grant<'a>,
    comment: &'a str,
}

/// The owner as GetBucketInfo writes it (`DisplayName` first).
#[derive(Serialize)]
struct InfoOwner<'a> {
    #[serde(rename = "DisplayName")]
    display_name: &'a str,
    #[serde(rename = "ID")]
    id: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Grant<'a> {
    grant: &'a str,
}

/// The GetBucketLocation answer: the region as the root's text.
#[derive(Serialize)]
struct LocationConstraint {
    #[serde(rename = "$text")]
    region: String,
}

/// GetBucketLocation.
pub(crate) fn location(c: &Call<'_>) -> Result<Resp, OssError> {
    let region = format!("oss-{}", c.state.opts.region);
    crate::xml::respond("LocationConstraint", &LocationConstraint { region })
}

/// What a request needs to know about an existing bucket.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BucketState {
    /// The bucket's canned ACL.
    pub acl: Acl,
}

/// The bucket, if it exists: configured (`public_read` makes it public-read) or made by
/// PutBucket; the ACL set by PutBucket or PutBucketAcl wins over the configuration.
pub(crate) fn lookup(state: &State, bucket: &str) -> Result<Option<BucketState>, OssError> {
    if !state.storage.bucket_exists(bucket) {
        return Ok(None);
    }
    let configured = state.opts.buckets.iter().find(|b| b.name == bucket);
    let acl = match state.storage.bucket_meta(bucket)? {
        Some(m) => m.acl,
        None if configured.is_some_and(|b| b.public_read) => Acl::PublicRead,
        None => Acl::Private,
    };
    Ok(Some(BucketState { acl }))
}

/// Checks a `CreateBucketConfiguration`: Standard storage and LRS are what oss-local stores.
fn check_create_config(body: &[u8]) -> Result<(), OssError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    for (name, value) in crate::xml::leaves(body, "CreateBucketConfiguration")? {
        let supported = match name.as_str() {
            "StorageClass" => value.eq_ignore_ascii_case("Standard"),
            "DataRedundancyType" => value == "LRS",
            _ => true,
        };
        if !supported {
            return Err(OssError::new(
                501,
                "NotImplemented",
                format!("oss-local stores Standard LRS buckets only, not {name} {value}; nothing was changed."),
            ));
        }
    }
    Ok(())
}

/// PutBucket: makes the bucket (`x-oss-acl`, a `CreateBucketConfiguration` body). Creating a
/// bucket that exists (one account owns them all) changes nothing and answers 200.
pub(crate) async fn put_bucket(
    c: &Call<'_>,
    body: &mut crate::body::RequestBody,
) -> Result<Resp, OssError> {
    let (state, parts, bucket) = (c.state, c.parts, c.bucket);
    if !crate::valid_bucket_name(bucket) {
        return Err(OssError::new(
            400,
            "InvalidBucketName",
            "The specified bucket is not valid.",
        )
        .with("BucketName", bucket));
    }
    let acl = crate::acl::bucket_acl(&parts.headers)?;
    check_create_config(&body.collect(64 * 1024).await?)?;
    if !state.storage.bucket_exists(bucket) {
        let meta = crate::storage::BucketMeta {
            created: crate::storage::now_secs(),
            acl,
        };
        state.storage.put_bucket_meta(bucket, &meta)?;
    }
    Ok(empty(200)
        .header("location", format!("/{bucket}"))
        .body(axum::body::Body::empty())
        .expect("valid response"))
}

fn empty(status: u16) -> http::response::Builder {
    http::Response::builder()
        .status(status)
        .header("content-length", "0")
}

/// DeleteBucket: an empty bucket only (`BucketNotEmpty` otherwise).
pub(crate) fn delete_bucket(c: &Call<'_>) -> Result<Resp, OssError> {
    c.state.storage.delete_bucket(c.bucket)?;
    Ok(empty(204)
        .body(axum::body::Body::empty())
        .expect("valid response"))
}

/// GetBucketAcl.
pub(crate) fn get_acl(c: &Call<'_>) -> Result<Resp, OssError> {
    let (state, acl) = (c.state, c.acl);
    crate::acl::AccessControlPolicy::new(&state.opts.account_id, acl.name()).respond()
}

/// PutBucketAcl (`x-oss-acl`).
pub(crate) fn put_acl(c: &Call<'_>) -> Result<Resp, OssError> {
    let (state, parts, bucket) = (c.state, c.parts, c.bucket);
    if crate::object::header(&parts.headers, "x-oss-acl").is_none() {
        return Err(OssError::invalid_argument(
            "The x-oss-acl header is missing.",
        ));
    }
    let acl = crate::acl::bucket_acl(&parts.headers)?;
    let created = state
        .storage
        .bucket_meta(bucket)?
        .map_or_else(crate::storage::now_secs, |m| m.created);
    state
        .storage
        .put_bucket_meta(bucket, &crate::storage::BucketMeta { created, acl })?;
    Ok(empty(200)
        .body(axum::body::Body::empty())
        .expect("valid response"))
}

/// ListBuckets (GetService): `prefix`, `marker`, `max-keys`. Each bucket's endpoint is the one
/// the request came to (this oss-local), so a client that follows it stays here.
pub(crate) fn list_buckets(c: &Call<'_>) -> Result<Resp, OssError> {
    let (state, target) = (c.state, c.target);
    let prefix = target.param("prefix").unwrap_or("");
    let marker = target.param("marker").unwrap_or("");
    let max: usize = match target.param("max-keys") {
        Some(v) => v
            .parse()
            .ok()
            .filter(|n| (1..=1000).contains(n))
            .ok_or_else(|| OssError::invalid_argument("max-keys must be between 1 and 1000."))?,
        None => 100,
    };
    let names: Vec<String> = state
        .storage
        .bucket_names()?
        .into_iter()
        .filter(|n| n.starts_with(prefix) && n.as_str() > marker)
        .collect();
    let truncated = names.len() > max;
    let region = state.opts.region.as_str();
    // The paging elements only when the request named a paging parameter.
    let paged = target.has("prefix") || target.has("marker") || target.has("max-keys");
    let buckets = names.iter().take(max).map(|name| ListedBucket {
        creation_date: creation_date(state, name),
        extranet_endpoint: &target.host,
        intranet_endpoint: &target.host,
        location: format!("oss-{region}"),
        name,
        region,
        storage_class: "Standard",
    });
    let doc = ListAllMyBuckets {
        prefix: paged.then_some(prefix),
        marker: paged.then_some(marker),
        max_keys: paged.then_some(max),
        is_truncated: paged.then_some(truncated),
        next_marker: (paged && truncated).then(|| names[max - 1].as_str()),
        owner: Owner::account(&state.opts.account_id),
        buckets: Buckets {
            bucket: buckets.collect(),
        },
    };
    crate::xml::respond("ListAllMyBucketsResult", &doc)
}

/// The ListBuckets answer.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ListAllMyBuckets<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    prefix: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    marker: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_keys: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    is_truncated: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_marker: Option<&'a str>,
    owner: Owner<'a>,
    buckets: Buckets<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Buckets<'a> {
    bucket: Vec<ListedBucket<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ListedBucket<'a> {
    creation_date: String,
    extranet_endpoint: &'a str,
    intranet_endpoint: &'a str,
    location: String,
    name: &'a str,
    region: &'a str,
    storage_class: &'a str,
}
