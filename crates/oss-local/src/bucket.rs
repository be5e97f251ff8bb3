//! Bucket-level reads: GetBucketInfo (`?bucketInfo`) and GetBucketLocation (`?location`), so
//! clients can check a bucket and its region.

use crate::auth::iso8601;
use crate::list::xml_response;
use crate::server::{Resp, State};
use crate::xml::{OssError, XmlWriter};

fn creation_date(state: &State, bucket: &str) -> String {
    let t = std::fs::metadata(state.storage.bucket_dir(bucket))
        .and_then(|m| m.created().or_else(|_| m.modified()))
        .map(time::OffsetDateTime::from)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    iso8601(t)
}

pub(crate) fn info(state: &State, bucket: &str, public_read: bool) -> Result<Resp, OssError> {
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
    w.elem(
        "Grant",
        if public_read {
            "public-read"
        } else {
            "private"
        },
    );
    w.close();
    w.elem("Comment", "oss-local");
    Ok(xml_response(w.finish()))
}

pub(crate) fn location(state: &State) -> Result<Resp, OssError> {
    let mut w = XmlWriter::new("LocationConstraint");
    w.out_text(&format!("oss-{}", state.opts.region));
    Ok(xml_response(w.finish()))
}
