//! CRC-64/XZ (what OSS calls `crc64ecma`, returned as `x-oss-hash-crc64ecma`), streaming and
//! combinable, so the CRC of a multipart object can be computed from its parts' CRCs.

use crc_fast::{checksum_combine, CrcAlgorithm, Digest};

/// The algorithm: CRC-64/XZ, computed with the SIMD kernels of `crc-fast` (carry-less multiply on
/// x86-64 and aarch64, the phone's architecture), some 8× faster here than slice-by-16.
const ALGORITHM: CrcAlgorithm = CrcAlgorithm::Crc64Xz;

/// CRC-64/XZ of a byte slice.
///
/// ```
/// assert_eq!(oss_direct::crc64::checksum(b"123456789"), 0x995d_c9bb_df19_39fa);
/// ```
pub fn checksum(data: &[u8]) -> u64 {
    crc_fast::checksum(ALGORITHM, data)
}

/// A running CRC-64/XZ over data seen in pieces.
#[derive(Clone)]
pub struct Crc64Hasher {
    digest: Digest,
}

impl Default for Crc64Hasher {
    fn default() -> Self {
        Self {
            digest: Digest::new(ALGORITHM),
        }
    }
}

impl Crc64Hasher {
    /// A new hasher.
    pub fn new() -> Self {
        Self::default()
    }
    /// A hasher that goes on from `crc`, the CRC of bytes seen before: fed `b`, it gives the
    /// CRC of those bytes followed by `b` (`crc-fast`'s streaming state set to where `crc` left
    /// it; no combination). Consecutive parts sent one after another get one CRC this way.
    ///
    /// ```
    /// use oss_direct::crc64::{checksum, Crc64Hasher};
    /// let mut h = Crc64Hasher::resume(checksum(b"hello "));
    /// h.update(b"world");
    /// assert_eq!(h.finish(), checksum(b"hello world"));
    /// assert_eq!(Crc64Hasher::resume(checksum(b"")).finish(), checksum(b""));
    /// ```
    pub fn resume(crc: u64) -> Self {
        // CRC-64/XZ's output is the register XOR all ones; `crc-fast` keeps the register.
        Self {
            digest: Digest::new_with_init_state(ALGORITHM, crc ^ u64::MAX),
        }
    }
    /// Feeds bytes.
    pub fn update(&mut self, data: &[u8]) {
        self.digest.update(data);
    }
    /// The CRC of everything fed so far.
    pub fn finish(&self) -> u64 {
        self.digest.finalize()
    }
}

/// CRC of `A || B` from `crc(A)`, `crc(B)` and the length of `B` (`crc-fast`'s combination).
///
/// ```
/// use oss_direct::crc64::{checksum, combine};
/// let (a, b) = (b"hello ".as_slice(), b"world".as_slice());
/// assert_eq!(combine(checksum(a), checksum(b), b.len() as u64), checksum(b"hello world"));
/// ```
pub fn combine(crc1: u64, crc2: u64, len2: u64) -> u64 {
    checksum_combine(ALGORITHM, crc1, crc2, len2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn official_vectors() {
        let v: Value =
            serde_json::from_str(include_str!("../tests/fixtures/official-sdk-vectors.json"))
                .unwrap();
        let mut seen = 0;
        for case in v["crc64"].as_array().unwrap() {
            let want: u64 = case["crc64ecma"].as_str().unwrap().parse().unwrap();
            if let Some(s) = case["data_utf8"].as_str() {
                assert_eq!(checksum(s.as_bytes()), want, "{s:?}");
            } else if case["data"].as_str() == Some("'A' * 102400") {
                assert_eq!(checksum(&vec![b'A'; 102_400]), want);
            } else {
                let c = &case["combine"];
                let n = |k: &str| c[k].as_str().unwrap().parse::<u64>().unwrap();
                assert_eq!(
                    combine(n("crc1"), n("crc2"), c["len2"].as_u64().unwrap()),
                    want
                );
            }
            seen += 1;
        }
        assert_eq!(seen, 5);
    }

    #[test]
    fn combine_matches_whole_for_many_splits() {
        let data: Vec<u8> = (0..5000u32).map(|i| (i * 31 % 251) as u8).collect();
        let whole = checksum(&data);
        for split in [0, 1, 7, 64, 100, 2500, 4999, 5000] {
            let (a, b) = data.split_at(split);
            assert_eq!(
                combine(checksum(a), checksum(b), b.len() as u64),
                whole,
                "{split}"
            );
        }
    }

    #[test]
    fn the_simd_kernel_agrees_with_the_reference_table() {
        // The `crc` crate's bitwise-table CRC-64/XZ, the definition, on odd lengths and offsets.
        let reference = crc::Crc::<u64>::new(&crc::CRC_64_XZ);
        let data: Vec<u8> = (0..70_000u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect();
        for (start, end) in [(0, 0), (0, 1), (3, 17), (1, 4097), (5, 65_541), (0, 70_000)] {
            let slice = &data[start..end];
            assert_eq!(checksum(slice), reference.checksum(slice), "{start}..{end}");
        }
    }

    #[test]
    fn streaming_equals_one_shot() {
        let mut h = Crc64Hasher::new();
        h.update(b"hello ");
        h.update(b"world");
        assert_eq!(h.finish(), checksum(b"hello world"));
    }
}
