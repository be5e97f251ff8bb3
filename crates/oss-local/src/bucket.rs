//! Bucket-level reads: GetBucketInfo (`?bucketInfo`) and GetBucketLocation (`?location`), so
//! clients can check a bucket and its region.

use crate::auth::iso8601;
use crate::context::Acl;
use crate::context::{Call, Resp, State};
use crate::list::xml_response;
use crate::xml::{OssError, XmlWriter};

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
    let region = &state.opts.region;
    let mut w = XmlWriter::new("BucketInfo");
    w.open("Bucket");
    w.elem("CreationDate", &creation_date(state, bucket));
    w.elem("ExtranetEndpoint", &format!("oss-{region}.aliyuncs.com"));
    w.elem(
        "IntranetEndpoint",
        &format!("oss-{region}-internal.aliyuncs.com"),
    );
    w.elem("Location", &format!("oss-{region}"));
    w.elem("Name", bucket);
    w.elem("StorageClass", "Standard");
    w.elem("DataRedundancyType", "LRS");
    w.open("Owner");
    w.elem("DisplayName", &state.opts.account_id);
    w.elem("ID", &state.opts.account_id);
    w.close();
    w.open("AccessControlList");
    w.elem("Grant", acl.name());
    w.close();
    w.elem("Comment", "oss-local");
    Ok(xml_response(w.finish()))
}

/// GetBucketLocation.
pub(crate) fn location(c: &Call<'_>) -> Result<Resp, OssError> {
    let state = c.state;
    let mut w = XmlWriter::new("LocationConstraint");
    w.out_text(&format!("oss-{}", state.opts.region));
    Ok(xml_response(w.finish()))
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
    let mut w = XmlWriter::new("AccessControlPolicy");
    w.open("Owner");
    w.elem("ID", &state.opts.account_id);
    w.elem("DisplayName", &state.opts.account_id);
    w.close();
    w.open("AccessControlList");
    w.elem("Grant", acl.name());
    Ok(xml_response(w.finish()))
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
    let region = &state.opts.region;
    let mut w = XmlWriter::new("ListAllMyBucketsResult");
    if target.has("prefix") || target.has("marker") || target.has("max-keys") {
        w.elem("Prefix", prefix);
        w.elem("Marker", marker);
        w.elem("MaxKeys", &max.to_string());
        w.elem("IsTruncated", if truncated { "true" } else { "false" });
        if truncated {
            w.elem("NextMarker", &names[max - 1]);
        }
    }
    w.open("Owner");
    w.elem("ID", &state.opts.account_id);
    w.elem("DisplayName", &state.opts.account_id);
    w.close();
    w.open("Buckets");
    for name in names.iter().take(max) {
        w.open("Bucket");
        w.elem("CreationDate", &creation_date(state, name));
        w.elem("ExtranetEndpoint", &target.host);
        w.elem("IntranetEndpoint", &target.host);
        w.elem("Location", &format!("oss-{region}"));
        w.elem("Name", name);
        w.elem("Region", region);
        w.elem("StorageClass", "Standard");
        w.close();
    }
    w.close();
    Ok(xml_response(w.finish()))
}
