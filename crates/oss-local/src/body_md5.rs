//! The MD5 of a stored body (its ETag), which is most of what oss-local spends per byte it
//! receives (issue 15): computed with OpenSSL's assembly MD5, about 20 % faster on x86-64 than
//! the `md-5` crate's (bench/RESULTS.md, "What an upload costs"), falling back to `md-5` where
//! OpenSSL refuses MD5 (a FIPS-only configuration).

use md5::Digest;

/// A running MD5 over a body seen in pieces.
pub(crate) enum BodyMd5 {
    OpenSsl(openssl::hash::Hasher),
    RustCrypto(md5::Md5),
}

impl BodyMd5 {
    /// A new hasher: OpenSSL's if it offers MD5, otherwise `md-5`'s.
    pub fn new() -> Self {
        match openssl::hash::Hasher::new(openssl::hash::MessageDigest::md5()) {
            Ok(h) => Self::OpenSsl(h),
            Err(_) => Self::RustCrypto(md5::Md5::new()),
        }
    }

    /// Feeds bytes.
    pub fn update(&mut self, data: &[u8]) {
        match self {
            // An in-memory digest update does not fail; never hash half a body.
            Self::OpenSsl(h) => h.update(data).expect("OpenSSL's MD5 update"),
            Self::RustCrypto(h) => h.update(data),
        }
    }

    /// The digest of everything fed.
    pub fn finish(self) -> [u8; 16] {
        match self {
            Self::OpenSsl(mut h) => {
                let d = h.finish().expect("OpenSSL's MD5 finish");
                d.as_ref().try_into().expect("an MD5 digest is 16 bytes")
            }
            Self::RustCrypto(h) => h.finalize().into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openssl_and_md5_crate_agree_piece_by_piece() {
        let data: Vec<u8> = (0..300_000u32).map(|i| (i * 31 % 251) as u8).collect();
        let mut h = BodyMd5::new();
        assert!(matches!(h, BodyMd5::OpenSsl(_)), "OpenSSL offers MD5 here");
        for piece in data.chunks(65_537) {
            h.update(piece);
        }
        let want: [u8; 16] = md5::Md5::digest(&data).into();
        assert_eq!(h.finish(), want);
        assert_eq!(
            BodyMd5::new().finish(),
            <[u8; 16]>::from(md5::Md5::digest(b""))
        );
        let mut fallback = BodyMd5::RustCrypto(md5::Md5::new());
        fallback.update(&data);
        assert_eq!(fallback.finish(), want);
    }
}
