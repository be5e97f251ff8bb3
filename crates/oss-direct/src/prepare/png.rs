//! PNG chunk walk: keeps the chunks that define the pixels and their colours, drops text
//! (`tEXt`, `zTXt`, `iTXt`, which also carry XMP), `eXIf`, `tIME` and private ancillary chunks,
//! and anything after `IEND`. The image data chunks are copied byte for byte.

use super::{container_error, Container, Found};
use crate::Result;

pub(super) const SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// Ancillary chunks that describe how the pixels look (colour, transparency, animation).
const KEPT_ANCILLARY: &[&[u8; 4]] = &[
    b"tRNS", b"cHRM", b"gAMA", b"iCCP", b"sBIT", b"sRGB", b"cICP", b"mDCV", b"cLLI", b"mDCv",
    b"cLLi", b"bKGD", b"hIST", b"pHYs", b"sPLT", b"acTL", b"fcTL", b"fdAT",
];

/// Walks a PNG; `Container::stripped` is the same file without metadata chunks.
pub(super) fn walk(data: &[u8]) -> Result<Container<'_>> {
    if !data.starts_with(SIGNATURE) {
        return Err(container_error(
            "PNG",
            "it does not start with the PNG signature",
        ));
    }
    let mut out = Vec::with_capacity(data.len());
    out.extend_from_slice(SIGNATURE);
    let mut found = Found::default();
    let mut exif = None;
    let mut pos = SIGNATURE.len();
    let mut first = true;
    loop {
        let Some(head) = data.get(pos..pos + 8) else {
            return Err(container_error(
                "PNG",
                "the file ends before its IEND chunk (truncated)",
            ));
        };
        let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let kind: [u8; 4] = [head[4], head[5], head[6], head[7]];
        if len > i32::MAX as usize {
            return Err(container_error("PNG", "a chunk has an invalid length"));
        }
        let end = pos + 12 + len;
        if end > data.len() {
            return Err(container_error("PNG", "a chunk is cut short (truncated)"));
        }
        if first && &kind != b"IHDR" {
            return Err(container_error("PNG", "the first chunk is not IHDR"));
        }
        first = false;
        let body = &data[pos + 8..pos + 8 + len];
        let keep = match &kind {
            b"tEXt" | b"zTXt" | b"iTXt" => {
                if body.starts_with(b"XML:com.adobe.xmp\0") {
                    found.xmp = true;
                } else {
                    found.text = true;
                }
                false
            }
            b"eXIf" => {
                found.exif = true;
                exif.get_or_insert(body);
                false
            }
            k if k[0].is_ascii_uppercase() => true, // critical: IHDR, PLTE, IDAT, IEND, ...
            k if KEPT_ANCILLARY.contains(&k) => true,
            _ => {
                found.other = true;
                false
            }
        };
        if keep {
            out.extend_from_slice(&data[pos..end]);
        }
        pos = end;
        if &kind == b"IEND" {
            found.other |= pos < data.len();
            return Ok(Container {
                stripped: out,
                exif,
                found,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut v = (body.len() as u32).to_be_bytes().to_vec();
        v.extend_from_slice(kind);
        v.extend_from_slice(body);
        v.extend_from_slice(&[0, 0, 0, 0]);
        v
    }

    #[test]
    fn drops_text_and_exif_keeps_pixels() {
        let mut f = SIGNATURE.to_vec();
        f.extend(chunk(b"IHDR", &[0; 13]));
        f.extend(chunk(b"tEXt", b"Author\0me"));
        f.extend(chunk(b"iTXt", b"XML:com.adobe.xmp\0\0\0\0\0<x/>"));
        f.extend(chunk(b"eXIf", b"MM\0*"));
        f.extend(chunk(b"IDAT", b"pixels"));
        f.extend(chunk(b"IEND", b""));
        let c = walk(&f).unwrap();
        assert!(c.found.text && c.found.xmp && c.found.exif);
        assert_eq!(c.exif, Some(&b"MM\0*"[..]));
        let mut want = SIGNATURE.to_vec();
        want.extend(chunk(b"IHDR", &[0; 13]));
        want.extend(chunk(b"IDAT", b"pixels"));
        want.extend(chunk(b"IEND", b""));
        assert_eq!(c.stripped, want);
        assert!(walk(&f[..f.len() - 3]).is_err());
    }
}
