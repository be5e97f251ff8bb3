//! What a user sets (app server, bucket, region, endpoint, prefix) merged with what the token
//! server hints, turned into a connected [`Client`]. The app and the CLI both start here.

use crate::client::{Client, ClientConfig};
use crate::credentials::{AuthServerCredentials, TokenHints};
use crate::error::{Error, ErrorKind, Result};
use oss_direct_wire::sign::SignatureVersion;
use std::sync::Arc;

/// User settings; empty fields are filled from the token server's hints.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Settings {
    /// The app token server's URL (the seed's "App server").
    pub server_url: String,
    /// Bucket.
    pub bucket: String,
    /// Region, e.g. `cn-hangzhou`.
    pub region: String,
    /// Endpoint override, e.g. `http://127.0.0.1:9000`.
    pub endpoint: String,
    /// Object name prefix, e.g. `uploads/`.
    pub object_prefix: String,
    /// Signature version.
    pub signature_version: SignatureVersion,
}

impl Settings {
    /// Fills empty fields from the token server's hints.
    pub fn fill_from(&mut self, hints: &TokenHints) {
        let fill = |field: &mut String, hint: &Option<String>| {
            if field.trim().is_empty() {
                if let Some(h) = hint {
                    *field = h.clone();
                }
            }
        };
        fill(&mut self.bucket, &hints.bucket);
        fill(&mut self.region, &hints.region);
        fill(&mut self.endpoint, &hints.endpoint);
        fill(&mut self.object_prefix, &hints.object_prefix);
    }

    /// The object name for a picked file: the prefix, then the file's name.
    ///
    /// ```
    /// let s = oss_direct::settings::Settings { object_prefix: "uploads/".into(), ..Default::default() };
    /// assert_eq!(s.key_for("IMG 0001.JPG"), "uploads/IMG 0001.JPG");
    /// ```
    pub fn key_for(&self, file_name: &str) -> String {
        let name = file_name
            .rsplit(['/', '\\'])
            .next()
            .unwrap_or(file_name)
            .trim();
        format!("{}{}", self.object_prefix, name)
    }

    /// Checks, before uploading, that `key` is inside the prefix the token's policy allows, so
    /// the user hears it now rather than as an `AccessDenied` later.
    pub fn check_key(&self, key: &str) -> Result<()> {
        crate::object::validate_key("Upload", key)?;
        if !key.starts_with(&self.object_prefix) {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                "Upload",
                format!(
                    "the object name {key:?} must start with {:?}: the token only allows that prefix",
                    self.object_prefix
                ),
            ));
        }
        Ok(())
    }

    /// Connects: asks the token server once (for credentials and hints), fills the empty
    /// settings and builds a client that keeps refreshing through the same provider.
    pub async fn connect(&mut self, bearer: Option<&str>) -> Result<Connection> {
        let mut provider = AuthServerCredentials::new(self.server_url.trim())?;
        if let Some(b) = bearer.filter(|b| !b.is_empty()) {
            provider = provider.with_bearer(b);
        }
        let provider = Arc::new(provider);
        let token = provider.token().await?;
        self.fill_from(&token.hints);
        let missing = |what: &str| {
            Error::new(
                ErrorKind::InvalidInput,
                "Settings",
                format!("no {what} is set and the app server did not suggest one"),
            )
        };
        if self.bucket.trim().is_empty() {
            return Err(missing("bucket"));
        }
        if self.region.trim().is_empty() {
            return Err(missing("region"));
        }
        let mut config = ClientConfig::new(self.bucket.trim(), self.region.trim())
            .with_signature_version(self.signature_version);
        if !self.endpoint.trim().is_empty() {
            config = config.with_endpoint(self.endpoint.trim());
        }
        let client = Client::new(config, provider.clone())?;
        Ok(Connection {
            client,
            credentials: provider,
            hints: token.hints,
            expiration: token.credentials.expiration,
        })
    }
}

/// A connected client and the token server it refreshes from.
#[derive(Debug, Clone)]
pub struct Connection {
    /// The client.
    pub client: Client,
    /// The credentials provider (shared with the client).
    pub credentials: Arc<AuthServerCredentials>,
    /// What the token server hinted.
    pub hints: TokenHints,
    /// When the first token expires.
    pub expiration: Option<time::OffsetDateTime>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_fill_only_empty_fields() {
        let mut s = Settings {
            bucket: "mine".into(),
            ..Default::default()
        };
        s.fill_from(&TokenHints {
            bucket: Some("theirs".into()),
            region: Some("cn-shanghai".into()),
            endpoint: None,
            object_prefix: Some("users/u1/".into()),
            callback: None,
        });
        assert_eq!(s.bucket, "mine");
        assert_eq!(s.region, "cn-shanghai");
        assert_eq!(s.object_prefix, "users/u1/");
        assert_eq!(s.endpoint, "");
    }

    #[test]
    fn keys_outside_the_prefix_are_refused_up_front() {
        let s = Settings {
            object_prefix: "users/u1/".into(),
            ..Default::default()
        };
        assert_eq!(s.key_for("C:\\photos\\a.jpg"), "users/u1/a.jpg");
        assert!(s.check_key("users/u1/a.jpg").is_ok());
        let e = s.check_key("users/u2/a.jpg").unwrap_err();
        assert!(e.message().contains("users/u1/"), "{e}");
    }
}
