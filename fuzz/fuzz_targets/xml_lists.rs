//! The listing XML the client reads: ListObjectsV2 pages (`oss_direct::xml::ListObjectsPage`) and
//! ListParts parts (`oss_direct::xml::ListedPart`, wrapped here the way the crate-private
//! `ListPartsResult` wraps them), through quick-xml as the client does (UTF-8 first).
#![no_main]
use libfuzzer_sys::fuzz_target;
use oss_direct::xml::{ListObjectsPage, ListedPart};
use serde::Deserialize;

/// Same fields and attributes as `oss_direct::xml::ListPartsResult` (crate-private).
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
#[allow(dead_code)]
struct ListPartsResult {
    #[serde(default)]
    next_part_number_marker: Option<String>,
    #[serde(default)]
    is_truncated: bool,
    #[serde(default, rename = "Part")]
    parts: Vec<ListedPart>,
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(page) = quick_xml::de::from_str::<ListObjectsPage>(text) {
        for o in &page.objects {
            let _ = (o.key.len(), o.size, o.etag.len());
        }
    }
    if let Ok(parts) = quick_xml::de::from_str::<ListPartsResult>(text) {
        let _ = parts
            .parts
            .iter()
            .map(|p| p.size)
            .fold(0u64, u64::wrapping_add);
    }
});
