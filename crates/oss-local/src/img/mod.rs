//! Image processing on GetObject (`x-oss-process=image/...`).

use crate::auth::Principal;
use crate::server::{Resp, State};
use crate::storage::ObjectMeta;
use crate::xml::OssError;

pub(crate) async fn respond(
    _state: &State,
    _bucket: &str,
    _meta: &ObjectMeta,
    _file: std::fs::File,
    _process: &str,
    _principal: &Principal,
) -> Result<Resp, OssError> {
    Err(OssError::new(
        501,
        "NotImplemented",
        "image processing is not built yet",
    ))
}
