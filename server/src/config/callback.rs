//! `Callback` and `DatabaseUrl`: upload callbacks and where their records go.

use std::path::{Path, PathBuf};

use serde_json::Value;
use url::Url;

use super::{ConfigError, Loader};
use crate::callback::{
    check_body_template, parse_trusted_key_url, CallbackBodyType, CallbackConfig,
    DEFAULT_TRUSTED_KEY_URLS,
};
use crate::db::DatabaseUrl;

/// Environment variable that overrides `DatabaseUrl` (keeps a PostgreSQL password out of the
/// file).
pub const ENV_DATABASE_URL: &str = "APP_TOKEN_SERVER_DATABASE_URL";

/// The SQLite file used when callbacks are on and no `DatabaseUrl` is given, beside the config.
pub const DEFAULT_SQLITE_FILE: &str = "uploads.db";

/// OSS tries at most this many callback URLs.
const MAX_CALLBACK_URLS: usize = 5;

impl Loader<'_> {
    pub(super) fn load_callback(&self) -> Result<Option<CallbackConfig>, ConfigError> {
        let map = match self.obj.get("Callback") {
            None | Some(Value::Null) | Some(Value::Bool(false)) => return Ok(None),
            Some(Value::Object(m)) => m,
            Some(other) => {
                return Err(self.err(
                    "Callback",
                    format!(
                        "must be {{\"Url\": \"https://.../callback\", ...}} or false, got {other}"
                    ),
                ))
            }
        };
        self.check_callback_keys(map)?;
        let strings = |key: &str| self.callback_strings(map, key);

        let urls = strings("Url")?.filter(|u| !u.is_empty()).ok_or_else(|| {
            self.err(
                "Callback.Url",
                "missing (the URL OSS posts to, e.g. https://app.example.com/callback)",
            )
        })?;
        if urls.len() > MAX_CALLBACK_URLS {
            return Err(self.err(
                "Callback.Url",
                format!(
                    "OSS tries at most {MAX_CALLBACK_URLS} URLs, got {}",
                    urls.len()
                ),
            ));
        }
        let urls = urls
            .iter()
            .map(|u| parse_callback_url(u).map_err(|e| self.err("Callback.Url", e)))
            .collect::<Result<Vec<Url>, _>>()?;

        let body_type = match map.get("BodyType") {
            None | Some(Value::Null) => CallbackBodyType::Form,
            Some(Value::String(s)) => CallbackBodyType::parse(s).ok_or_else(|| {
                self.err(
                    "Callback.BodyType",
                    format!("{s:?} is not application/x-www-form-urlencoded or application/json"),
                )
            })?,
            Some(other) => {
                return Err(self.err(
                    "Callback.BodyType",
                    format!("must be a string, got {other}"),
                ))
            }
        };
        let body = match map.get("Body") {
            None | Some(Value::Null) => crate::callback::default_body(body_type).to_string(),
            Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
            Some(other) => {
                return Err(self.err(
                    "Callback.Body",
                    format!("must be a non-empty string, got {other}"),
                ))
            }
        };
        check_body_template(&body, body_type).map_err(|e| self.err("Callback.Body", e))?;

        let key = "Callback.TrustedKeyUrls";
        let urls_listed = match strings("TrustedKeyUrls")? {
            None => DEFAULT_TRUSTED_KEY_URLS
                .iter()
                .map(|s| s.to_string())
                .collect(),
            Some(list) if list.is_empty() => {
                return Err(self.err(key, "is empty: no callback could ever be verified"))
            }
            Some(list) => list,
        };
        let trusted_key_urls = urls_listed
            .iter()
            .map(|u| parse_trusted_key_url(u).map_err(|e| self.err(key, e)))
            .collect::<Result<Vec<_>, _>>()?;

        Ok(Some(CallbackConfig {
            urls,
            body,
            body_type,
            trusted_key_urls,
        }))
    }

    /// Known keys only; the former `TrustedKeyUrlPrefixes` is refused with what replaced it.
    fn check_callback_keys(&self, map: &serde_json::Map<String, Value>) -> Result<(), ConfigError> {
        let known = ["Url", "Body", "BodyType", "TrustedKeyUrls"];
        if map.contains_key("TrustedKeyUrlPrefixes") {
            return Err(self.err(
                "Callback.TrustedKeyUrlPrefixes",
                "was replaced by TrustedKeyUrls, the exact URLs of the callback public keys \
                 (a prefix let any URL under it be fetched), e.g. \
                 [\"http://127.0.0.1:9000/-/callback-public-key.pem\"] for oss-local",
            ));
        }
        for k in map.keys() {
            if !known.contains(&k.as_str()) && !k.starts_with('_') {
                return Err(self.err(
                    &format!("Callback.{k}"),
                    format!("unknown key (expected one of {})", known.join(", ")),
                ));
            }
        }
        Ok(())
    }

    /// `Callback.<key>` as a list of trimmed strings (one string counts as a list of one).
    fn callback_strings(
        &self,
        map: &serde_json::Map<String, Value>,
        key: &str,
    ) -> Result<Option<Vec<String>>, ConfigError> {
        let full = format!("Callback.{key}");
        match map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(vec![s.trim().to_string()])),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(|s| s.trim().to_string())
                        .ok_or_else(|| self.err(&full, format!("{v} is not a string")))
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(other) => Err(self.err(
                &full,
                format!("must be a string or a list of strings, got {other}"),
            )),
        }
    }

    /// `DatabaseUrl` (or `APP_TOKEN_SERVER_DATABASE_URL`); `uploads.db` beside the config when
    /// callbacks are on and neither is given.
    pub(super) fn load_database_url(
        &self,
        callbacks_on: bool,
    ) -> Result<Option<DatabaseUrl>, ConfigError> {
        let key = "DatabaseUrl";
        let given = match self.env(ENV_DATABASE_URL) {
            Some(v) => Some(v.trim().to_string()),
            None => self.opt_string(key)?.filter(|s| !s.is_empty()),
        };
        let base = self
            .file
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        // Absolute, so the file does not move if the working directory changes.
        let base = std::path::absolute(base).unwrap_or_else(|_| base.to_path_buf());
        let base = base.as_path();
        let url = match given {
            None if callbacks_on => sqlite_url(&base.join(DEFAULT_SQLITE_FILE), None),
            None => return Ok(None),
            Some(s) => normalise_database_url(&s, base).map_err(|e| self.err(key, e))?,
        };
        Ok(Some(DatabaseUrl::new(url)))
    }
}

/// A callback URL: http(s) with a host, as OSS accepts it.
fn parse_callback_url(s: &str) -> Result<Url, String> {
    if s.contains(';') {
        return Err(format!(
            "{s:?}: give several URLs as a list, not joined with ';'"
        ));
    }
    let url = Url::parse(s).map_err(|e| format!("{s:?} is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("{s:?} must start with https:// or http://"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("{s:?} has no host"));
    }
    if url.fragment().is_some() {
        return Err(format!("{s:?} must not have a fragment"));
    }
    Ok(url)
}

fn sqlite_url(path: &Path, query: Option<&str>) -> String {
    let encoded: String = path
        .to_string_lossy()
        .chars()
        .map(|c| match c {
            '%' => "%25".to_string(),
            '?' => "%3F".to_string(),
            '#' => "%23".to_string(),
            ' ' => "%20".to_string(),
            c => c.to_string(),
        })
        .collect();
    let query = query.filter(|q| !q.is_empty());
    let query = match query {
        Some(q) if q.split('&').any(|p| p.starts_with("mode=")) => q.to_string(),
        Some(q) => format!("{q}&mode=rwc"),
        None => "mode=rwc".to_string(),
    };
    format!("sqlite://{encoded}?{query}")
}

/// `sqlite:` URLs get an absolute path (relative ones are beside the config) and `mode=rwc`
/// (create the file); `postgres:`/`postgresql:` URLs pass as they are.
fn normalise_database_url(s: &str, base: &Path) -> Result<String, String> {
    if s.starts_with("postgres://") || s.starts_with("postgresql://") {
        let url = Url::parse(s).map_err(|_| {
            "is not a valid postgres:// URL (postgres://user:password@host:5432/database)"
                .to_string()
        })?;
        if url.host_str().is_none_or(str::is_empty) {
            return Err("has no host (postgres://user:password@host:5432/database)".into());
        }
        return Ok(s.to_string());
    }
    let Some(rest) = s.strip_prefix("sqlite:") else {
        let scheme = s.split(':').next().unwrap_or("");
        return Err(format!(
            "{scheme:?} is not supported: use sqlite:///path/uploads.db or postgres://user:password@host/database"
        ));
    };
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let (path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (rest, None),
    };
    if path == ":memory:" || path.is_empty() {
        return Ok(s.to_string());
    }
    let decoded = percent_encoding::percent_decode_str(path)
        .decode_utf8()
        .map_err(|_| "the SQLite path is not UTF-8".to_string())?;
    let path = PathBuf::from(decoded.as_ref());
    let path = if path.is_absolute() {
        path
    } else {
        base.join(path)
    };
    let parent = path.parent().unwrap_or(Path::new("/"));
    if !parent.is_dir() {
        return Err(format!(
            "the folder {} of the SQLite file does not exist",
            parent.display()
        ));
    }
    Ok(sqlite_url(&path, query))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_become_absolute_and_creatable() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path();
        let want = format!("sqlite://{}/u.db?mode=rwc", base.display());
        assert_eq!(normalise_database_url("sqlite://u.db", base).unwrap(), want);
        assert_eq!(normalise_database_url("sqlite:u.db", base).unwrap(), want);
        let abs = format!("sqlite://{}/u.db", base.display());
        assert_eq!(
            normalise_database_url(&abs, Path::new("/elsewhere")).unwrap(),
            want
        );
        assert_eq!(
            normalise_database_url("sqlite://u.db?mode=ro", base).unwrap(),
            format!("sqlite://{}/u.db?mode=ro", base.display())
        );
        assert!(normalise_database_url("sqlite://missing/u.db", base)
            .unwrap_err()
            .contains("does not exist"));
        assert!(normalise_database_url("mysql://x/y", base)
            .unwrap_err()
            .contains("not supported"));
        assert!(normalise_database_url("postgres://u:p@h:5432/d", base).is_ok());
        assert!(normalise_database_url("postgres:///d", base).is_err());
    }
}
