//! Self-contained STS security tokens.
//!
//! A token is `CAIS` + base64url(JSON claims) + `.` + base64url(HMAC-SHA256(server key, claims)).
//! The temporary AccessKeySecret is derived from the AccessKeyId with the same key, so nothing
//! per session is stored and tokens stay valid across restarts (the key lives in the data dir).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::Rng;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::path::Path;

/// What a token asserts.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct Claims {
    /// The temporary AccessKeyId (`STS.` ...).
    pub ak: String,
    /// Role ARN.
    pub role: String,
    /// RoleSessionName.
    pub session: String,
    /// Session policy passed to AssumeRole, if any.
    pub policy: Option<String>,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
}

/// Why a token was refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum TokenError {
    Invalid,
    Expired,
}

/// The server key that signs tokens and derives temporary secrets.
pub(crate) struct TokenKey {
    key: [u8; 32],
}

const PREFIX: &str = "CAIS";

impl TokenKey {
    /// Loads the key from `dir/sts-token.key`, creating it (atomically) on first use.
    pub fn load_or_create(dir: &Path) -> std::io::Result<Self> {
        let path = dir.join("sts-token.key");
        if let Ok(text) = std::fs::read_to_string(&path) {
            if let Ok(bytes) = hex::decode(text.trim()) {
                if let Ok(key) = <[u8; 32]>::try_from(bytes.as_slice()) {
                    return Ok(Self { key });
                }
            }
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "{} is corrupt; delete it to issue a new key",
                    path.display()
                ),
            ));
        }
        let key: [u8; 32] = rand::thread_rng().gen();
        crate::storage::write_atomic(dir, &path, hex::encode(key).as_bytes())?;
        // Another process may have raced us: read back what is on disk.
        let text = std::fs::read_to_string(&path)?;
        let bytes = hex::decode(text.trim()).map_err(std::io::Error::other)?;
        let key = <[u8; 32]>::try_from(bytes.as_slice()).map_err(std::io::Error::other)?;
        Ok(Self { key })
    }

    fn mac(&self, label: &str, data: &[u8]) -> [u8; 32] {
        let mut m = Hmac::<Sha256>::new_from_slice(&self.key).expect("any key length");
        m.update(label.as_bytes());
        m.update(b"\n");
        m.update(data);
        m.finalize().into_bytes().into()
    }

    /// A fresh temporary AccessKeyId.
    pub fn new_access_key_id() -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz123456789";
        let mut rng = rand::thread_rng();
        let tail: String = (0..26)
            .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
            .collect();
        format!("STS.NT{tail}")
    }

    /// The AccessKeySecret belonging to a temporary AccessKeyId.
    pub fn secret_for(&self, access_key_id: &str) -> String {
        let mut s = URL_SAFE_NO_PAD.encode(self.mac("secret", access_key_id.as_bytes()));
        s.truncate(40);
        s
    }

    /// Issues a token for the claims.
    pub fn issue(&self, claims: &Claims) -> String {
        let body = serde_json::to_vec(claims).expect("claims serialize");
        let sig = self.mac("token", &body);
        format!(
            "{PREFIX}{}.{}",
            URL_SAFE_NO_PAD.encode(&body),
            URL_SAFE_NO_PAD.encode(sig)
        )
    }

    /// Checks a token's signature and expiry (`now` in seconds since the epoch).
    pub fn verify(&self, token: &str, now: i64) -> Result<Claims, TokenError> {
        let rest = token.strip_prefix(PREFIX).ok_or(TokenError::Invalid)?;
        let (body, sig) = rest.split_once('.').ok_or(TokenError::Invalid)?;
        let body = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| TokenError::Invalid)?;
        let sig = URL_SAFE_NO_PAD
            .decode(sig)
            .map_err(|_| TokenError::Invalid)?;
        if !crate::auth::constant_time_eq(&sig, &self.mac("token", &body)) {
            return Err(TokenError::Invalid);
        }
        let claims: Claims = serde_json::from_slice(&body).map_err(|_| TokenError::Invalid)?;
        if claims.exp <= now {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_verify_expire_and_tamper() {
        let dir = tempfile::tempdir().unwrap();
        let key = TokenKey::load_or_create(dir.path()).unwrap();
        let claims = Claims {
            ak: TokenKey::new_access_key_id(),
            role: "r".into(),
            session: "s".into(),
            policy: None,
            exp: 1000,
        };
        let token = key.issue(&claims);
        assert_eq!(key.verify(&token, 999).unwrap(), claims);
        assert_eq!(key.verify(&token, 1000), Err(TokenError::Expired));
        let mut tampered = token.clone();
        tampered.insert(10, 'x');
        assert_eq!(key.verify(&tampered, 0), Err(TokenError::Invalid));
        assert_eq!(key.verify("garbage", 0), Err(TokenError::Invalid));
        // Same key after a "restart".
        let again = TokenKey::load_or_create(dir.path()).unwrap();
        assert_eq!(again.verify(&token, 999).unwrap(), claims);
        assert_eq!(again.secret_for(&claims.ak), key.secret_for(&claims.ak));
        assert_ne!(key.secret_for("STS.a"), key.secret_for("STS.b"));
    }
}
