//! `config.json`: the seed's keys, the optional extras, and the checks that stop a bad start-up.
//!
//! Keys (spelled as in Alibaba's sample `config.json`):
//!
//! | key | required | meaning |
//! |---|---|---|
//! | `AccessKeyID` | yes (or `ALIBABA_CLOUD_ACCESS_KEY_ID`) | the RAM user's AccessKey ID |
//! | `AccessKeySecret` | yes (or `ALIBABA_CLOUD_ACCESS_KEY_SECRET`) | its secret |
//! | `RoleArn` | yes | the role to assume, `acs:ram::<account>:role/<name>` |
//! | `TokenExpireTime` | yes | token lifetime in seconds, string or number, 900..=43200 |
//! | `PolicyFile` | yes | policy template served when no `?scope=` is given |
//! | `StsEndpoint` | no | default `https://sts.aliyuncs.com` |
//! | `StsTimeoutSeconds` | no | default 10 |
//! | `RoleSessionName` | no | default `app-token-server` |
//! | `Bucket`, `ObjectPrefix`, `Region`, `OssEndpoint` | no | fill `$BUCKET_NAME` / `$OBJECT_PREFIX` and the token's hints |
//! | `Scopes` | no | scopes offered through `?scope=`: `["read","write","read-write"]` or `{"read": "file", ...}` |
//! | `Auth` | no | `{"Jwt": {"Hs256Secret" or "Rs256PublicKeyFile", "Issuer", "Audience"}}` |
//! | `RateLimit` | no | `{"RequestsPerMinute": 60, "Burst": 30}` per client, or `false` |
//! | `TrustForwardedFor` | no | behind a reverse proxy: key the rate limit on `X-Forwarded-For` |
//! | `TokenCache` | no | `true` (default) or `false` |
//! | `Callback` | no | `{"Url", "Body", "BodyType", "TrustedKeyUrls"}`: upload callbacks (off when absent; need `Bucket` and `Region` or `OssEndpoint`) |
//! | `DatabaseUrl` | no | `sqlite:///path/uploads.db` or `postgres://...`; `uploads.db` beside the config when `Callback` is on |
//!
//! Keys starting with `_` are ignored (comments); any other unknown key is an error, so a typo in
//! an optional key does not silently fall back to a default.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Map, Value};
use url::Url;

use crate::auth::{JwtVerifier, MAX_SUBJECT_LEN};
use crate::callback::CallbackConfig;
use crate::db::DatabaseUrl;
use crate::policy::{check_bucket_name, check_object_prefix, PolicyTemplate, Scope};
use crate::sts::{AccessKey, DEFAULT_STS_ENDPOINT};

/// Environment variable that overrides `AccessKeyID`.
pub const ENV_ACCESS_KEY_ID: &str = "ALIBABA_CLOUD_ACCESS_KEY_ID";
/// Environment variable that overrides `AccessKeySecret`.
pub const ENV_ACCESS_KEY_SECRET: &str = "ALIBABA_CLOUD_ACCESS_KEY_SECRET";
/// Environment variable that overrides `Auth.Jwt.Hs256Secret` (keeps it out of the file).
pub const ENV_JWT_HS256_SECRET: &str = "APP_TOKEN_SERVER_JWT_HS256_SECRET";

/// Shortest and longest `TokenExpireTime` STS accepts.
pub const MIN_TOKEN_EXPIRE_SECONDS: u64 = 900;
/// Upper bound of a role's `MaxSessionDuration`.
pub const MAX_TOKEN_EXPIRE_SECONDS: u64 = 43_200;

/// The prefix each authenticated user gets below `ObjectPrefix`: `<ObjectPrefix>/users/<sub>/`,
/// with the `/` after `ObjectPrefix` added only when it does not end with one already.
pub fn user_prefix(object_prefix: &str, sub: &str) -> String {
    if object_prefix.is_empty() || object_prefix.ends_with('/') {
        format!("{object_prefix}users/{sub}/")
    } else {
        format!("{object_prefix}/users/{sub}/")
    }
}

const KNOWN_KEYS: &[&str] = &[
    "AccessKeyID",
    "AccessKeySecret",
    "RoleArn",
    "TokenExpireTime",
    "PolicyFile",
    "StsEndpoint",
    "StsTimeoutSeconds",
    "RoleSessionName",
    "Bucket",
    "ObjectPrefix",
    "Region",
    "OssEndpoint",
    "Scopes",
    "Auth",
    "RateLimit",
    "TrustForwardedFor",
    "TokenCache",
    "Callback",
    "DatabaseUrl",
];

/// A configuration problem: which file, which key, what is wrong. `Display` is one line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {}{problem}", file.display(), key.as_deref().map(|k| format!("{k}: ")).unwrap_or_default())]
pub struct ConfigError {
    /// The config file.
    pub file: PathBuf,
    /// The key at fault, if one is.
    pub key: Option<String>,
    /// What is wrong.
    pub problem: String,
}

/// Per-client rate limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitConfig {
    /// Sustained requests per minute per client.
    pub requests_per_minute: u32,
    /// Requests a client may make at once before the sustained rate applies.
    pub burst: u32,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            requests_per_minute: 60,
            burst: 30,
        }
    }
}

/// A loaded and checked configuration. `Debug` hides the secrets.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it was read from.
    pub file: PathBuf,
    /// The RAM user's AccessKey (file or environment).
    pub access_key: AccessKey,
    /// The role to assume.
    pub role_arn: String,
    /// `DurationSeconds` of every `AssumeRole` call.
    pub token_expire_seconds: u64,
    /// The template served when no scope is asked for.
    pub default_policy: PolicyTemplate,
    /// Templates offered through `?scope=`.
    pub scopes: BTreeMap<Scope, PolicyTemplate>,
    /// STS endpoint.
    pub sts_endpoint: Url,
    /// How long to wait for STS.
    pub sts_timeout: Duration,
    /// `RoleSessionName` when the caller is anonymous.
    pub role_session_name: String,
    /// `$BUCKET_NAME`, and the `Bucket` hint.
    pub bucket: Option<String>,
    /// `$OBJECT_PREFIX` (anonymous callers) or the base of `users/<sub>/`.
    pub object_prefix: String,
    /// The `Region` hint, e.g. `cn-hangzhou`.
    pub region: Option<String>,
    /// The `Endpoint` hint, e.g. `https://oss-cn-hangzhou.aliyuncs.com`.
    pub oss_endpoint: Option<String>,
    /// Caller authentication; `None` serves anyone (demo only).
    pub auth: Option<JwtVerifier>,
    /// Per-client rate limit; `None` disables it.
    pub rate_limit: Option<RateLimitConfig>,
    /// Take the client address from `X-Forwarded-For` (only behind a trusted proxy).
    pub trust_forwarded_for: bool,
    /// Reuse tokens per (user, scope) until shortly before they expire.
    pub token_cache: bool,
    /// Upload callbacks: the hint served with tokens and how `POST /callback` verifies them.
    pub callback: Option<CallbackConfig>,
    /// Where uploads are recorded; set when `Callback` is on (SQLite beside the config by
    /// default) or `DatabaseUrl` is given.
    pub database_url: Option<DatabaseUrl>,
}

struct Loader<'a> {
    file: &'a Path,
    obj: Map<String, Value>,
    env: &'a dyn Fn(&str) -> Option<String>,
}

impl Loader<'_> {
    fn err(&self, key: &str, problem: impl Into<String>) -> ConfigError {
        ConfigError {
            file: self.file.to_path_buf(),
            key: Some(key.to_string()),
            problem: problem.into(),
        }
    }

    fn env(&self, name: &str) -> Option<String> {
        (self.env)(name).filter(|v| !v.trim().is_empty())
    }

    fn opt_string(&self, key: &str) -> Result<Option<String>, ConfigError> {
        match self.obj.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.trim().to_string())),
            Some(other) => Err(self.err(key, format!("must be a string, got {other}"))),
        }
    }

    fn required_string(&self, key: &str, env: Option<&str>) -> Result<String, ConfigError> {
        if let Some(v) = env.and_then(|e| self.env(e)) {
            return Ok(v.trim().to_string());
        }
        let hint = env.map(|e| format!(" (or set {e})")).unwrap_or_default();
        match self.opt_string(key)? {
            Some(s) if !s.is_empty() => Ok(s),
            Some(_) => Err(self.err(key, format!("is empty{hint}"))),
            None => Err(self.err(key, format!("missing{hint}"))),
        }
    }

    fn opt_u64(&self, key: &str) -> Result<Option<u64>, ConfigError> {
        match self.obj.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n.as_u64().map(Some).ok_or_else(|| {
                self.err(key, format!("must be a whole number of seconds, got {n}"))
            }),
            Some(Value::String(s)) => s.trim().parse::<u64>().map(Some).map_err(|_| {
                self.err(key, format!("must be a whole number of seconds, got {s:?}"))
            }),
            Some(other) => Err(self.err(
                key,
                format!("must be a whole number of seconds, got {other}"),
            )),
        }
    }

    fn opt_bool(&self, key: &str) -> Result<Option<bool>, ConfigError> {
        match self.obj.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(self.err(key, format!("must be true or false, got {other}"))),
        }
    }

    /// A file named in the config: relative to the config's folder first, then the working
    /// directory (the jar's habit).
    fn resolve_file(&self, key: &str, name: &str) -> Result<PathBuf, ConfigError> {
        let given = Path::new(name);
        if given.is_absolute() {
            return Ok(given.to_path_buf());
        }
        let base = self
            .file
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let beside = base.join(given);
        if beside.exists() {
            return Ok(beside);
        }
        if given.exists() {
            return Ok(given.to_path_buf());
        }
        Err(self.err(
            key,
            format!(
                "{} does not exist (looked beside the config file and in the working directory)",
                beside.display()
            ),
        ))
    }

    fn load_template(&self, key: &str, name: &str) -> Result<PolicyTemplate, ConfigError> {
        let path = self.resolve_file(key, name)?;
        PolicyTemplate::load(&path).map_err(|e| self.err(key, e))
    }
}

impl Config {
    /// Reads and checks `path`, with `ALIBABA_CLOUD_ACCESS_KEY_ID` / `_SECRET` overriding the file.
    pub fn load(path: impl AsRef<Path>) -> Result<Config, ConfigError> {
        Self::load_with_env(path, &|name| std::env::var(name).ok())
    }

    /// As [`Config::load`], with the environment given as a function (for tests).
    pub fn load_with_env(
        path: impl AsRef<Path>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let file = path.as_ref();
        let whole = |problem: String| ConfigError {
            file: file.to_path_buf(),
            key: None,
            problem,
        };
        let text = std::fs::read_to_string(file).map_err(|e| whole(format!("cannot read: {e}")))?;
        let value: Value =
            serde_json::from_str(&text).map_err(|e| whole(format!("not valid JSON: {e}")))?;
        let Value::Object(obj) = value else {
            return Err(whole("must be a JSON object of keys".into()));
        };
        let l = Loader { file, obj, env };
        l.check_unknown_keys()?;

        let (access_key, role_arn, token_expire_seconds) = l.load_role()?;
        let (sts_endpoint, sts_timeout, role_session_name) = l.load_sts()?;
        let (bucket, object_prefix, region, oss_endpoint) = l.load_oss()?;
        let auth = l.load_auth()?;
        let rate_limit = l.load_rate_limit()?;
        let trust_forwarded_for = l.opt_bool("TrustForwardedFor")?.unwrap_or(false);
        let token_cache = l.opt_bool("TokenCache")?.unwrap_or(true);
        let callback = l.load_callback()?;
        if callback.is_some() {
            // Each callback is confirmed with a HeadObject of the server's own.
            if bucket.is_none() {
                return Err(l.err(
                    "Bucket",
                    "is required with Callback: the server confirms each upload in this bucket",
                ));
            }
            if region.is_none() && oss_endpoint.is_none() {
                return Err(l.err(
                    "Region",
                    "Region or OssEndpoint is required with Callback: the server confirms each upload with HeadObject",
                ));
            }
        }
        let database_url = l.load_database_url(callback.is_some())?;

        let policy_name = l.required_string("PolicyFile", None)?;
        let default_policy = l.load_template("PolicyFile", &policy_name)?;
        let scopes = l.load_scopes()?;

        let config = Config {
            file: file.to_path_buf(),
            access_key,
            role_arn,
            token_expire_seconds,
            default_policy,
            scopes,
            sts_endpoint,
            sts_timeout,
            role_session_name,
            bucket,
            object_prefix,
            region,
            oss_endpoint,
            auth,
            rate_limit,
            trust_forwarded_for,
            token_cache,
            callback,
            database_url,
        };
        config.check_policies()?;
        Ok(config)
    }

    /// Fills every template with the longest prefix a caller can get, so that a template that
    /// is broken or too long for STS fails now rather than on each request.
    fn check_policies(&self) -> Result<(), ConfigError> {
        let prefix = if self.auth.is_some() {
            user_prefix(&self.object_prefix, &"x".repeat(MAX_SUBJECT_LEN))
        } else {
            self.object_prefix.clone()
        };
        let bucket = self.bucket.as_deref().unwrap_or("");
        let named = std::iter::once(("PolicyFile".to_string(), &self.default_policy)).chain(
            self.scopes
                .iter()
                .map(|(s, t)| (format!("Scopes.{}", s.as_str()), t)),
        );
        for (key, template) in named {
            if template.uses_bucket() && self.bucket.is_none() {
                return Err(ConfigError {
                    file: self.file.clone(),
                    key: Some("Bucket".into()),
                    problem: format!("missing, but {} uses $BUCKET_NAME", template.path.display()),
                });
            }
            template
                .fill(bucket, &prefix)
                .map_err(|problem| ConfigError {
                    file: self.file.clone(),
                    key: Some(key),
                    problem,
                })?;
        }
        Ok(())
    }

    /// The scopes offered through `?scope=`, by name.
    pub fn scope_names(&self) -> Vec<&'static str> {
        self.scopes.keys().map(|s| s.as_str()).collect()
    }
}

/// An http(s) URL with a host and no query or fragment.
fn parse_endpoint(s: &str) -> Result<Url, String> {
    let url = Url::parse(s).map_err(|e| format!("{s:?} is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "{s:?} must start with https:// (or http:// for a local server)"
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("{s:?} has no host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!("{s:?} must not have a query or fragment"));
    }
    Ok(url)
}

/// STS's rule for `RoleSessionName`: 2-32 characters of `[A-Za-z0-9.@_-]`.
pub fn check_role_session_name(name: &str) -> Result<(), String> {
    let ok = (2..=32).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'@' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{name:?} must be 2-32 characters of A-Z a-z 0-9 . @ _ -"
        ))
    }
}

mod callback;
mod sections;

pub use callback::{DEFAULT_SQLITE_FILE, ENV_DATABASE_URL};

#[cfg(test)]
mod tests;

/// The groups of keys `load_with_env` reads, in the order a reader meets them in the file.
impl Loader<'_> {
    /// `AccessKeyID`, `AccessKeySecret` (or their environment variables), `RoleArn`,
    /// `TokenExpireTime`.
    fn load_role(&self) -> Result<(AccessKey, String, u64), ConfigError> {
        let access_key = AccessKey {
            id: self.required_string("AccessKeyID", Some(ENV_ACCESS_KEY_ID))?,
            secret: self.required_string("AccessKeySecret", Some(ENV_ACCESS_KEY_SECRET))?,
        };
        let role_arn = self.required_string("RoleArn", None)?;
        if !role_arn.starts_with("acs:ram::") || !role_arn.contains(":role/") {
            return Err(self.err(
                "RoleArn",
                format!("{role_arn:?} is not a role ARN (acs:ram::<account-id>:role/<role-name>)"),
            ));
        }
        let key = "TokenExpireTime";
        let seconds = match self.opt_u64(key)? {
            None => return Err(self.err(key, "missing (seconds, at least 900)")),
            Some(s) if s < MIN_TOKEN_EXPIRE_SECONDS => {
                return Err(self.err(
                    key,
                    format!("{s} is less than the {MIN_TOKEN_EXPIRE_SECONDS} seconds STS allows"),
                ))
            }
            Some(s) if s > MAX_TOKEN_EXPIRE_SECONDS => {
                return Err(self.err(
                    key,
                    format!("{s} is more than the {MAX_TOKEN_EXPIRE_SECONDS} seconds STS allows"),
                ))
            }
            Some(s) => s,
        };
        Ok((access_key, role_arn, seconds))
    }

    /// `StsEndpoint`, `StsTimeoutSeconds`, `RoleSessionName`.
    fn load_sts(&self) -> Result<(Url, Duration, String), ConfigError> {
        let endpoint = match self.opt_string("StsEndpoint")? {
            None => Url::parse(DEFAULT_STS_ENDPOINT).expect("the default endpoint parses"),
            Some(s) => parse_endpoint(&s).map_err(|e| self.err("StsEndpoint", e))?,
        };
        let timeout = match self.opt_u64("StsTimeoutSeconds")? {
            None => Duration::from_secs(10),
            Some(0) => return Err(self.err("StsTimeoutSeconds", "must be at least 1")),
            Some(s) => Duration::from_secs(s),
        };
        let session_name = self
            .opt_string("RoleSessionName")?
            .unwrap_or_else(|| "app-token-server".to_string());
        check_role_session_name(&session_name).map_err(|e| self.err("RoleSessionName", e))?;
        Ok((endpoint, timeout, session_name))
    }

    /// `Bucket`, `ObjectPrefix`, `Region`, `OssEndpoint`.
    #[allow(clippy::type_complexity)]
    fn load_oss(
        &self,
    ) -> Result<(Option<String>, String, Option<String>, Option<String>), ConfigError> {
        let bucket = self.opt_string("Bucket")?.filter(|b| !b.is_empty());
        if let Some(b) = &bucket {
            check_bucket_name(b).map_err(|e| self.err("Bucket", e))?;
        }
        let prefix = self.opt_string("ObjectPrefix")?.unwrap_or_default();
        check_object_prefix(&prefix).map_err(|e| self.err("ObjectPrefix", e))?;
        let region = self.opt_string("Region")?.filter(|s| !s.is_empty());
        let endpoint = self.opt_string("OssEndpoint")?.filter(|s| !s.is_empty());
        if let Some(e) = &endpoint {
            parse_endpoint(e).map_err(|p| self.err("OssEndpoint", p))?;
        }
        Ok((bucket, prefix, region, endpoint))
    }
}
