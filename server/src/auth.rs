//! Caller authentication: `Authorization: Bearer <JWT>` signed with HS256 or RS256.
//!
//! The app's own login service issues the JWT; this server only verifies it. The `sub` claim names
//! the user and becomes the per-user object prefix `users/<sub>/`, so it must be a safe path
//! segment: 1-64 characters of `[A-Za-z0-9._-]`, not `.` or `..`.

use http::HeaderMap;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use crate::error::AppError;

/// The longest `sub` accepted (keeps the filled policy under the STS size limit).
pub const MAX_SUBJECT_LEN: usize = 64;

/// Verifies bearer tokens. `Debug` shows the algorithm and claims checked, not the key.
#[derive(Clone)]
pub struct JwtVerifier {
    key: DecodingKey,
    validation: Validation,
}

impl std::fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtVerifier")
            .field("algorithms", &self.validation.algorithms)
            .field("issuer", &self.validation.iss)
            .field("audience", &self.validation.aud)
            .field("key", &"***")
            .finish()
    }
}

#[derive(Deserialize)]
struct Claims {
    // Optional here so that a missing `sub` is reported as missing, not as malformed JSON.
    #[serde(default)]
    sub: Option<String>,
}

impl JwtVerifier {
    /// HS256 with a shared secret (at least 32 bytes; checked by the config loader).
    pub fn hs256(secret: &[u8], issuer: Option<&str>, audience: Option<&str>) -> Self {
        Self::with_key(
            DecodingKey::from_secret(secret),
            Algorithm::HS256,
            issuer,
            audience,
        )
    }

    /// RS256 with the issuer's RSA public key in PEM (`-----BEGIN PUBLIC KEY-----` or
    /// `-----BEGIN RSA PUBLIC KEY-----`).
    pub fn rs256_pem(
        pem: &[u8],
        issuer: Option<&str>,
        audience: Option<&str>,
    ) -> Result<Self, String> {
        let key = DecodingKey::from_rsa_pem(pem)
            .map_err(|e| format!("not an RSA public key in PEM: {e}"))?;
        Ok(Self::with_key(key, Algorithm::RS256, issuer, audience))
    }

    fn with_key(
        key: DecodingKey,
        alg: Algorithm,
        issuer: Option<&str>,
        audience: Option<&str>,
    ) -> Self {
        // Only the configured algorithm: a token cannot choose `none` or switch HS/RS.
        let mut validation = Validation::new(alg);
        validation.set_required_spec_claims(&["exp", "sub"]);
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.leeway = 30;
        match issuer {
            Some(iss) => {
                validation.set_issuer(&[iss]);
                validation.set_required_spec_claims(&["exp", "sub", "iss"]);
            }
            None => validation.iss = None,
        }
        match audience {
            Some(aud) => validation.set_audience(&[aud]),
            None => validation.validate_aud = false,
        }
        Self { key, validation }
    }

    /// Verifies a token and returns its checked subject.
    pub fn verify(&self, token: &str) -> Result<String, AppError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.key, &self.validation)
            .map_err(|e| AppError::invalid_token(describe(&e)))?;
        let sub = data
            .claims
            .sub
            .ok_or_else(|| AppError::invalid_token("a required claim (sub) is missing"))?;
        check_subject(&sub).map_err(AppError::invalid_subject)?;
        Ok(sub)
    }
}

/// A short reason that never repeats the token.
fn describe(e: &jsonwebtoken::errors::Error) -> &'static str {
    use jsonwebtoken::errors::ErrorKind as K;
    match e.kind() {
        K::ExpiredSignature => "expired",
        K::ImmatureSignature => "not valid yet (nbf)",
        K::InvalidSignature => "bad signature",
        K::InvalidAlgorithm | K::InvalidAlgorithmName => "wrong algorithm",
        K::InvalidIssuer => "wrong issuer",
        K::InvalidAudience => "wrong audience",
        K::MissingRequiredClaim(_) => "a required claim (exp, sub, iss) is missing",
        K::InvalidToken | K::Base64(_) | K::Json(_) | K::Utf8(_) => "malformed",
        _ => "invalid",
    }
}

/// Checks that a subject can be used as the path segment of `users/<sub>/`.
pub fn check_subject(sub: &str) -> Result<(), String> {
    let ok = !sub.is_empty()
        && sub.len() <= MAX_SUBJECT_LEN
        && sub != "."
        && sub != ".."
        && sub
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "the token's subject cannot name a folder: it must be 1-{MAX_SUBJECT_LEN} characters of A-Z a-z 0-9 . _ - (and not . or ..)"
        ))
    }
}

/// The bearer token of a request, if it sent one; a malformed `Authorization` header is an error.
pub fn bearer_token(headers: &HeaderMap) -> Result<Option<&str>, AppError> {
    let Some(value) = headers.get(http::header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| AppError::invalid_token("the Authorization header is not ASCII"))?;
    let (scheme, token) = value
        .split_once(' ')
        .ok_or_else(|| AppError::invalid_token("expected Authorization: Bearer <token>"))?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(AppError::invalid_token(
            "expected Authorization: Bearer <token>",
        ));
    }
    Ok(Some(token.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{encode, EncodingKey, Header};
    use serde_json::json;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn now() -> u64 {
        jsonwebtoken::get_current_timestamp()
    }

    fn token(alg: Algorithm, key: &EncodingKey, claims: serde_json::Value) -> String {
        encode(&Header::new(alg), &claims, key).unwrap()
    }

    fn hs(claims: serde_json::Value) -> String {
        token(Algorithm::HS256, &EncodingKey::from_secret(SECRET), claims)
    }

    #[test]
    fn hs256_accepts_a_good_token_and_returns_the_subject() {
        let v = JwtVerifier::hs256(SECRET, Some("login"), Some("oss"));
        let t = hs(json!({"sub":"alice","exp":now()+60,"iss":"login","aud":"oss"}));
        assert_eq!(v.verify(&t).unwrap(), "alice");
    }

    #[test]
    fn hs256_refuses_what_it_must() {
        let v = JwtVerifier::hs256(SECRET, Some("login"), Some("oss"));
        let other = EncodingKey::from_secret(b"another-secret-another-secret-xx");
        let cases = [
            (
                hs(json!({"sub":"a","exp":now()-3600,"iss":"login","aud":"oss"})),
                "expired",
            ),
            (
                token(
                    Algorithm::HS256,
                    &other,
                    json!({"sub":"a","exp":now()+60,"iss":"login","aud":"oss"}),
                ),
                "bad signature",
            ),
            (
                hs(json!({"sub":"a","exp":now()+60,"iss":"evil","aud":"oss"})),
                "wrong issuer",
            ),
            (
                hs(json!({"sub":"a","exp":now()+60,"iss":"login","aud":"x"})),
                "wrong audience",
            ),
            (hs(json!({"sub":"a","iss":"login","aud":"oss"})), "missing"),
            (
                hs(json!({"exp":now()+60,"iss":"login","aud":"oss"})),
                "missing",
            ),
            (
                token(
                    Algorithm::HS512,
                    &EncodingKey::from_secret(SECRET),
                    json!({"sub":"a","exp":now()+60,"iss":"login","aud":"oss"}),
                ),
                "wrong algorithm",
            ),
            ("not.a.jwt".to_string(), "malformed"),
        ];
        for (t, want) in cases {
            let e = v.verify(&t).unwrap_err();
            assert_eq!(e.status, http::StatusCode::UNAUTHORIZED, "{want}");
            assert!(e.message.contains(want), "{want}: {}", e.message);
            assert!(!e.message.contains(&t), "the token is not echoed");
        }
    }

    #[test]
    fn unsafe_subjects_are_forbidden() {
        let v = JwtVerifier::hs256(SECRET, None, None);
        for sub in ["..", ".", "a/b", "../x", "a b", "", &"x".repeat(65), "é"] {
            let t = hs(json!({"sub":sub,"exp":now()+60}));
            let e = v.verify(&t).unwrap_err();
            assert_eq!(e.status, http::StatusCode::FORBIDDEN, "{sub:?}");
            assert_eq!(e.code, "InvalidSubject");
        }
        let t = hs(json!({"sub":"user-1.x_Y","exp":now()+60}));
        assert_eq!(v.verify(&t).unwrap(), "user-1.x_Y");
    }

    #[test]
    fn without_configured_audience_any_audience_passes() {
        let v = JwtVerifier::hs256(SECRET, None, None);
        let t = hs(json!({"sub":"a","exp":now()+60,"aud":"whatever"}));
        assert_eq!(v.verify(&t).unwrap(), "a");
    }

    #[test]
    fn rs256_verifies_with_the_public_key_only() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
        let private = std::fs::read(format!("{dir}/jwt_test_private.pem")).unwrap();
        let public = std::fs::read(format!("{dir}/jwt_test_public.pem")).unwrap();
        let v = JwtVerifier::rs256_pem(&public, None, None).unwrap();
        let key = EncodingKey::from_rsa_pem(&private).unwrap();
        let t = token(Algorithm::RS256, &key, json!({"sub":"bob","exp":now()+60}));
        assert_eq!(v.verify(&t).unwrap(), "bob");
        // An HS256 token "signed" with the public key text must not pass (algorithm confusion).
        let forged = token(
            Algorithm::HS256,
            &EncodingKey::from_secret(&public),
            json!({"sub":"bob","exp":now()+60}),
        );
        assert!(v.verify(&forged).is_err());
        assert!(JwtVerifier::rs256_pem(b"nope", None, None).is_err());
    }

    #[test]
    fn bearer_header_parsing() {
        let mut h = HeaderMap::new();
        assert_eq!(bearer_token(&h).unwrap(), None);
        h.insert("authorization", "Bearer abc".parse().unwrap());
        assert_eq!(bearer_token(&h).unwrap(), Some("abc"));
        h.insert("authorization", "bearer  abc ".parse().unwrap());
        assert_eq!(bearer_token(&h).unwrap(), Some("abc"));
        for bad in ["Basic abc", "Bearer", "Bearer   ", "abc"] {
            h.insert("authorization", bad.parse().unwrap());
            assert!(bearer_token(&h).is_err(), "{bad}");
        }
    }
}
