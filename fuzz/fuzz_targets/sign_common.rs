#![allow(dead_code)]
//! Shared input for the signing targets: a request as the parts a signature covers, with
//! arbitrary methods, bucket, key, query pairs and headers (only those `http` accepts; the
//! rest are dropped, as no HTTP stack could carry them).
use arbitrary::Arbitrary;
use http::{HeaderMap, HeaderName, HeaderValue};

#[derive(Arbitrary, Debug)]
pub struct Request {
    pub method: String,
    pub bucket: Option<String>,
    pub key: Option<String>,
    pub query: Vec<(String, String)>,
    pub headers: Vec<(String, Vec<u8>)>,
    pub ak: String,
    pub secret: String,
    pub token: Option<String>,
    pub region: String,
    pub additional: Vec<String>,
}

impl Request {
    pub fn header_map(&self) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in &self.headers {
            let Ok(name) = HeaderName::from_bytes(name.as_bytes()) else {
                continue;
            };
            let Ok(value) = HeaderValue::from_bytes(value) else {
                continue;
            };
            h.append(name, value);
        }
        h
    }

    pub fn creds(&self) -> oss_direct_wire::sign::SigningCredentials<'_> {
        oss_direct_wire::sign::SigningCredentials {
            access_key_id: &self.ak,
            access_key_secret: &self.secret,
            security_token: self.token.as_deref(),
        }
    }
}

/// Percent-decodes what `uri_encode` wrote.
pub fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .expect("uri_encode output decodes to UTF-8")
        .into_owned()
}
