//! JPEG marker walk: keeps what the pixels need (frame, tables, scans, JFIF, ICC profile, Adobe
//! colour transform), drops metadata segments and whatever follows the end-of-image marker. The
//! entropy-coded data is copied byte for byte, so the pixels stay bit-identical.

use super::{container_error, Container, Found};
use crate::Result;

const SOI: u8 = 0xD8;
const EOI: u8 = 0xD9;
const SOS: u8 = 0xDA;
const APP0: u8 = 0xE0;
const APP1: u8 = 0xE1;
const APP2: u8 = 0xE2;
const APP13: u8 = 0xED;
const APP14: u8 = 0xEE;
const APP15: u8 = 0xEF;
const COM: u8 = 0xFE;

/// What one marker segment is, for the metadata report and the keep/drop decision.
fn classify<'a>(marker: u8, payload: &'a [u8], found: &mut Found) -> (bool, Option<&'a [u8]>) {
    match marker {
        APP0 => (payload.starts_with(b"JFIF\0"), None),
        APP1 if payload.starts_with(b"Exif\0\0") => {
            found.exif = true;
            (false, Some(&payload[6..]))
        }
        APP1 if payload.starts_with(b"http://ns.adobe.com/") => {
            found.xmp = true;
            (false, None)
        }
        APP2 if payload.starts_with(b"ICC_PROFILE\0") => (true, None),
        APP13 => {
            found.iptc = true;
            (false, None)
        }
        APP14 if payload.starts_with(b"Adobe") => (true, None),
        m if (APP0..=APP15).contains(&m) => {
            found.other = true;
            (false, None)
        }
        COM => {
            found.text = true;
            (false, None)
        }
        _ => (true, None),
    }
}

/// Where the entropy-coded data that starts at `from` ends: the offset of the next marker
/// (an `FF` not followed by `00`, a restart marker or another `FF`).
fn scan_end(data: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while i + 1 < data.len() {
        if data[i] == 0xFF {
            match data[i + 1] {
                0x00 | 0xD0..=0xD7 => i += 2,
                0xFF => i += 1,
                _ => return Some(i),
            }
        } else {
            i += 1;
        }
    }
    None
}

/// Walks a JPEG; `Container::stripped` is the same file without metadata segments and trailer.
pub(super) fn walk(data: &[u8]) -> Result<Container<'_>> {
    if !data.starts_with(&[0xFF, SOI]) {
        return Err(container_error(
            "JPEG",
            "it does not start with a JPEG marker",
        ));
    }
    let mut out = Vec::with_capacity(data.len());
    out.extend_from_slice(&[0xFF, SOI]);
    let mut found = Found::default();
    let mut exif = None;
    let mut saw_scan = false;
    let mut pos = 2;
    loop {
        if pos >= data.len() {
            return Err(container_error(
                "JPEG",
                "the file ends before its end-of-image marker (truncated)",
            ));
        }
        if data[pos] != 0xFF {
            return Err(container_error(
                "JPEG",
                &format!("no marker where one must be (offset {pos})"),
            ));
        }
        while pos < data.len() && data[pos] == 0xFF {
            pos += 1;
        }
        let Some(&marker) = data.get(pos) else {
            continue; // reported as truncated at the top of the loop
        };
        pos += 1;
        match marker {
            EOI => {
                if !saw_scan {
                    return Err(container_error("JPEG", "it has no image data"));
                }
                out.extend_from_slice(&[0xFF, EOI]);
                found.other |= data[pos..].iter().any(|&b| b != 0);
                return Ok(Container {
                    stripped: out,
                    exif,
                    found,
                });
            }
            SOI => return Err(container_error("JPEG", "a second start-of-image marker")),
            0x01 | 0xD0..=0xD7 => out.extend_from_slice(&[0xFF, marker]),
            _ => {
                let end = segment_end(data, pos)?;
                let payload = &data[pos + 2..end];
                let (keep, segment_exif) = classify(marker, payload, &mut found);
                if exif.is_none() {
                    exif = segment_exif;
                }
                if keep {
                    out.extend_from_slice(&[0xFF, marker]);
                    out.extend_from_slice(&data[pos..end]);
                }
                pos = end;
                if marker == SOS {
                    saw_scan = true;
                    let Some(next) = scan_end(data, pos) else {
                        return Err(container_error(
                            "JPEG",
                            "the image data ends before its end-of-image marker (truncated)",
                        ));
                    };
                    out.extend_from_slice(&data[pos..next]);
                    pos = next;
                }
            }
        }
    }
}

/// The end of the marker segment whose length field starts at `pos`.
fn segment_end(data: &[u8], pos: usize) -> Result<usize> {
    let Some(len) = data.get(pos..pos + 2) else {
        return Err(container_error(
            "JPEG",
            "a segment is cut short (truncated)",
        ));
    };
    let len = u16::from_be_bytes([len[0], len[1]]) as usize;
    if len < 2 {
        return Err(container_error("JPEG", "a segment has an invalid length"));
    }
    if pos + len > data.len() {
        return Err(container_error(
            "JPEG",
            "a segment is cut short (truncated)",
        ));
    }
    Ok(pos + len)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(marker: u8, payload: &[u8]) -> Vec<u8> {
        let mut v = vec![0xFF, marker];
        v.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
        v.extend_from_slice(payload);
        v
    }

    #[test]
    fn drops_metadata_keeps_icc_and_scan_bytes() {
        let mut f = vec![0xFF, SOI];
        f.extend(seg(APP0, b"JFIF\0\x01\x01"));
        f.extend(seg(APP1, b"Exif\0\0MM\0*"));
        f.extend(seg(APP2, b"ICC_PROFILE\0\x01\x01abc"));
        f.extend(seg(APP13, b"Photoshop 3.0\0"));
        f.extend(seg(COM, b"hello"));
        f.extend(seg(0xDB, &[0; 65]));
        f.extend(seg(SOS, &[1, 1, 0, 0, 63, 0]));
        f.extend_from_slice(&[0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56]);
        f.extend_from_slice(&[0xFF, EOI, b'M', b'P']);
        let c = walk(&f).unwrap();
        assert!(c.found.exif && c.found.iptc && c.found.text && c.found.other);
        assert!(!c.found.xmp);
        assert_eq!(c.exif, Some(&b"MM\0*"[..]));
        let s = &c.stripped;
        assert!(s.windows(11).any(|w| w == b"ICC_PROFILE"));
        assert!(!s.windows(4).any(|w| w == b"Exif"));
        assert!(s.ends_with(&[0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56, 0xFF, EOI]));
        // Idempotent.
        assert_eq!(&walk(s).unwrap().stripped, s);
    }

    #[test]
    fn truncation_is_an_error() {
        let mut f = vec![0xFF, SOI];
        f.extend(seg(SOS, &[1, 1, 0, 0, 63, 0]));
        f.extend_from_slice(&[1, 2, 3]);
        assert!(walk(&f).is_err());
        assert!(walk(&f[..5]).is_err());
        assert!(walk(b"\xFF\xD8").is_err());
        assert!(walk(b"\xFF\xD8\xFF\xD9").is_err());
    }
}
