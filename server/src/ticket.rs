//! Callback tickets: what the token server tells OSS to hand back in every upload callback, so
//! that a callback can be traced to the caller who received the token.
//!
//! OSS signs the callback request, but the callback *body* is the uploader's text: OSS fills the
//! `${...}` variables and passes everything else unchanged. A signature from OSS therefore proves
//! only that *some* upload to OSS asked for this body. The ticket closes that gap: the token
//! answer carries, in the callback hint, an `x:ticket` variable that this server signed with a
//! key of its own (HMAC-SHA256), binding the bucket, the prefix the caller may write and the
//! caller's user name, with an expiry. The body template gets `ticket=${x:ticket}`. On a
//! callback the server checks the ticket before anything else, records the upload for the
//! ticket's user (never for a name in the body), and only for a key under the ticket's prefix.
//!
//! Format: `v1.<base64url(JSON claims)>.<base64url(HMAC-SHA256(key, "v1." + claims part))>`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The callback variable that carries the ticket (`x:` as OSS requires).
pub const TICKET_VAR: &str = "x:ticket";
/// The body field the ticket arrives in.
pub const TICKET_FIELD: &str = "ticket";
/// How long a ticket is accepted. A resumable upload may complete hours or days after its
/// token was issued (paused, the phone off the network); a ticket only lets its holder have
/// uploads under its own prefix recorded, and each one is confirmed in OSS, so a long life
/// costs little.
pub const TICKET_LIFETIME_SECS: i64 = 7 * 24 * 3600;
/// The largest ticket read (a bound before any decoding).
const MAX_TICKET_LEN: usize = 4096;
const VERSION: &str = "v1";

/// What a ticket binds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketClaims {
    /// The bucket the token was for.
    #[serde(rename = "b")]
    pub bucket: String,
    /// The object prefix the token's policy allows (the user's own prefix when callers sign in).
    #[serde(rename = "p")]
    pub prefix: String,
    /// The signed-in user, when caller authentication is on.
    #[serde(rename = "u", default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Unix seconds after which the ticket is refused.
    #[serde(rename = "e")]
    pub expires: i64,
}

/// Why a ticket was refused (the message is safe to show the caller).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TicketError(pub String);

/// Signs and checks tickets with one key.
#[derive(Clone)]
pub struct TicketKey {
    key: [u8; 32],
}

impl std::fmt::Debug for TicketKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TicketKey(***)")
    }
}

impl TicketKey {
    /// The key derived from the server's AccessKey secret: stable across restarts and shared by
    /// every instance with the same configuration, with nothing more to configure or leak.
    pub fn derive(access_key_secret: &str) -> Self {
        let mut mac = HmacSha256::new_from_slice(access_key_secret.as_bytes())
            .expect("HMAC takes any key length");
        mac.update(b"oss-direct callback ticket key v1");
        Self {
            key: mac.finalize().into_bytes().into(),
        }
    }

    fn mac(&self, signed_part: &str) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(signed_part.as_bytes());
        mac
    }

    /// The ticket for these claims.
    pub fn sign(&self, claims: &TicketClaims) -> String {
        let json = serde_json::to_vec(claims).expect("claims serialize");
        let signed_part = format!("{VERSION}.{}", URL_SAFE_NO_PAD.encode(json));
        let tag = self.mac(&signed_part).finalize().into_bytes();
        format!("{signed_part}.{}", URL_SAFE_NO_PAD.encode(tag))
    }

    /// The claims of a ticket this key signed and that has not expired at `now` (Unix seconds).
    pub fn verify(&self, ticket: &str, now: i64) -> Result<TicketClaims, TicketError> {
        let bad = || TicketError("the callback ticket is not one this server issued".into());
        if ticket.len() > MAX_TICKET_LEN {
            return Err(bad());
        }
        let (signed_part, tag) = ticket.rsplit_once('.').ok_or_else(bad)?;
        let claims_part = signed_part
            .strip_prefix(VERSION)
            .and_then(|r| r.strip_prefix('.'))
            .ok_or_else(bad)?;
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| bad())?;
        // Constant-time comparison, before the claims are even decoded.
        self.mac(signed_part)
            .verify_slice(&tag)
            .map_err(|_| bad())?;
        let json = URL_SAFE_NO_PAD.decode(claims_part).map_err(|_| bad())?;
        let claims: TicketClaims = serde_json::from_slice(&json).map_err(|_| bad())?;
        if claims.expires < now {
            return Err(TicketError(
                "the callback ticket has expired (the upload's token is more than 7 days old)"
                    .into(),
            ));
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> TicketClaims {
        TicketClaims {
            bucket: "b".into(),
            prefix: "uploads/users/alice/".into(),
            user: Some("alice".into()),
            expires: 1_000,
        }
    }

    #[test]
    fn a_signed_ticket_verifies_until_it_expires() {
        let key = TicketKey::derive("secret");
        let t = key.sign(&claims());
        assert!(t.starts_with("v1."));
        assert_eq!(key.verify(&t, 999).unwrap(), claims());
        assert_eq!(key.verify(&t, 1_000).unwrap(), claims());
        assert!(key.verify(&t, 1_001).unwrap_err().0.contains("expired"));
    }

    #[test]
    fn tickets_from_another_key_or_altered_are_refused() {
        let key = TicketKey::derive("secret");
        let t = key.sign(&claims());
        assert!(TicketKey::derive("other").verify(&t, 0).is_err());
        // Claims swapped for Bob's, the tag kept.
        let mut bob = claims();
        bob.user = Some("bob".into());
        bob.prefix = "uploads/users/bob/".into();
        let forged_claims = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&bob).unwrap());
        let tag = t.rsplit_once('.').unwrap().1;
        assert!(key.verify(&format!("v1.{forged_claims}.{tag}"), 0).is_err());
        for junk in [
            "",
            "v1",
            "v1..",
            "v2.e30.AAAA",
            &"x".repeat(5000),
            "v1.e30.!!",
        ] {
            assert!(key.verify(junk, 0).is_err(), "{junk:?}");
        }
    }

    #[test]
    fn the_key_does_not_show_in_debug() {
        assert_eq!(format!("{:?}", TicketKey::derive("s")), "TicketKey(***)");
    }
}
