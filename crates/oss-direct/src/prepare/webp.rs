//! WebP (RIFF) chunk walk: drops `EXIF` and `XMP ` chunks (and unknown ones), clears their flags
//! in `VP8X`, fixes the RIFF size. The bitstream chunks are copied byte for byte.

use super::{container_error, Container, Found};
use crate::Result;

/// Chunks that make up the picture: the bitstreams, alpha, animation, colour profile.
const KEPT: &[&[u8; 4]] = &[
    b"VP8 ", b"VP8L", b"VP8X", b"ALPH", b"ANIM", b"ANMF", b"ICCP",
];
const FLAG_EXIF: u8 = 0x08;
const FLAG_XMP: u8 = 0x04;

/// Whether `data` starts like a WebP file.
pub(super) fn is_webp(data: &[u8]) -> bool {
    data.len() >= 12 && &data[..4] == b"RIFF" && &data[8..12] == b"WEBP"
}

/// Walks a WebP; `Container::stripped` is the same file without metadata chunks.
pub(super) fn walk(data: &[u8]) -> Result<Container<'_>> {
    if !is_webp(data) {
        return Err(container_error(
            "WebP",
            "it does not start with a WebP header",
        ));
    }
    let riff_len = u32::from_le_bytes([data[4], data[5], data[6], data[7]]) as usize;
    let Some(end) = riff_len.checked_add(8).filter(|&e| e <= data.len()) else {
        return Err(container_error(
            "WebP",
            "the file is shorter than its header says (truncated)",
        ));
    };
    let mut found = Found::default();
    found.other |= end < data.len();
    let mut exif = None;
    let mut out = Vec::with_capacity(end);
    out.extend_from_slice(b"RIFF\0\0\0\0WEBP");
    let mut vp8x_at = None;
    let mut pos = 12;
    let mut bitstream = false;
    while pos < end {
        let Some(head) = data.get(pos..pos + 8).filter(|_| pos + 8 <= end) else {
            return Err(container_error(
                "WebP",
                "a chunk header is cut short (truncated)",
            ));
        };
        let kind: [u8; 4] = [head[0], head[1], head[2], head[3]];
        let len = u32::from_le_bytes([head[4], head[5], head[6], head[7]]) as usize;
        let padded = len + (len & 1);
        let Some(chunk_end) = (pos + 8).checked_add(padded).filter(|&e| e <= end) else {
            return Err(container_error("WebP", "a chunk is cut short (truncated)"));
        };
        let body = &data[pos + 8..pos + 8 + len];
        match &kind {
            b"EXIF" => {
                found.exif = true;
                exif.get_or_insert(body);
            }
            b"XMP " => found.xmp = true,
            k if KEPT.contains(&k) => {
                if k == b"VP8X" {
                    vp8x_at = Some(out.len());
                }
                bitstream |= matches!(k, b"VP8 " | b"VP8L" | b"ANMF");
                out.extend_from_slice(&data[pos..chunk_end]);
            }
            _ => found.other = true,
        }
        pos = chunk_end;
    }
    if !bitstream {
        return Err(container_error("WebP", "it has no image data"));
    }
    if let Some(at) = vp8x_at {
        if let Some(flags) = out.get_mut(at + 8) {
            *flags &= !(FLAG_EXIF | FLAG_XMP);
        }
    }
    let size = (out.len() - 8) as u32;
    out[4..8].copy_from_slice(&size.to_le_bytes());
    Ok(Container {
        stripped: out,
        exif,
        found,
    })
}
