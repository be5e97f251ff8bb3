//! The structured parts of `config.json`: `Scopes`, `Auth`, `RateLimit`, and the unknown-key check.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{ConfigError, Loader, RateLimitConfig, ENV_JWT_HS256_SECRET, KNOWN_KEYS};
use crate::auth::JwtVerifier;
use crate::policy::{PolicyTemplate, Scope};

impl Loader<'_> {
    pub(super) fn check_unknown_keys(&self) -> Result<(), ConfigError> {
        for key in self.obj.keys() {
            if !key.starts_with('_') && !KNOWN_KEYS.contains(&key.as_str()) {
                let suggestion = KNOWN_KEYS
                    .iter()
                    .find(|k| k.eq_ignore_ascii_case(key))
                    .map(|k| format!(" (did you mean {k}?)"))
                    .unwrap_or_default();
                return Err(self.err(key, format!("unknown key{suggestion}")));
            }
        }
        Ok(())
    }

    pub(super) fn load_scopes(&self) -> Result<BTreeMap<Scope, PolicyTemplate>, ConfigError> {
        let mut out = BTreeMap::new();
        let scope_of = |name: &str| {
            Scope::parse(name).ok_or_else(|| {
                self.err(
                    "Scopes",
                    format!("{name:?} is not one of read, write, read-write"),
                )
            })
        };
        match self.obj.get("Scopes") {
            None | Some(Value::Null) => {}
            Some(Value::Array(names)) => {
                for n in names {
                    let name = n
                        .as_str()
                        .ok_or_else(|| self.err("Scopes", format!("{n} is not a scope name")))?;
                    let scope = scope_of(name)?;
                    let key = format!("Scopes.{}", scope.as_str());
                    out.insert(
                        scope,
                        self.load_template(&key, scope.default_policy_file())?,
                    );
                }
            }
            Some(Value::Object(map)) => {
                for (name, file) in map {
                    let scope = scope_of(name)?;
                    let key = format!("Scopes.{}", scope.as_str());
                    let file = file
                        .as_str()
                        .ok_or_else(|| self.err(&key, "must be the name of a policy file"))?;
                    out.insert(scope, self.load_template(&key, file)?);
                }
            }
            Some(other) => {
                return Err(self.err(
                    "Scopes",
                    format!(
                        "must be a list of scope names or an object of scope: file, got {other}"
                    ),
                ))
            }
        }
        Ok(out)
    }

    pub(super) fn load_auth(&self) -> Result<Option<JwtVerifier>, ConfigError> {
        let auth = match self.obj.get("Auth") {
            None | Some(Value::Null) | Some(Value::Bool(false)) => return Ok(None),
            Some(Value::Object(a)) => a,
            Some(other) => {
                return Err(self.err("Auth", format!("must be {{\"Jwt\": {{...}}}}, got {other}")))
            }
        };
        for k in auth.keys() {
            if k != "Jwt" && !k.starts_with('_') {
                return Err(self.err(&format!("Auth.{k}"), "unknown key (expected Jwt)"));
            }
        }
        let Some(jwt) = auth.get("Jwt") else {
            return Err(self.err("Auth.Jwt", "missing"));
        };
        let jwt = jwt
            .as_object()
            .ok_or_else(|| self.err("Auth.Jwt", "must be an object"))?;
        let known = ["Hs256Secret", "Rs256PublicKeyFile", "Issuer", "Audience"];
        for k in jwt.keys() {
            if !known.contains(&k.as_str()) && !k.starts_with('_') {
                return Err(self.err(
                    &format!("Auth.Jwt.{k}"),
                    format!("unknown key (expected one of {})", known.join(", ")),
                ));
            }
        }
        let string = |k: &str| -> Result<Option<String>, ConfigError> {
            match jwt.get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) if !s.trim().is_empty() => Ok(Some(s.trim().to_string())),
                Some(_) => Err(self.err(&format!("Auth.Jwt.{k}"), "must be a non-empty string")),
            }
        };
        let issuer = string("Issuer")?;
        let audience = string("Audience")?;
        let secret = self.env(ENV_JWT_HS256_SECRET).or(string("Hs256Secret")?);
        let public_key = string("Rs256PublicKeyFile")?;
        match (secret, public_key) {
            (Some(_), Some(_)) => Err(self.err(
                "Auth.Jwt",
                "set Hs256Secret or Rs256PublicKeyFile, not both",
            )),
            (None, None) => Err(self.err(
                "Auth.Jwt",
                format!("needs Hs256Secret (or {ENV_JWT_HS256_SECRET}) or Rs256PublicKeyFile"),
            )),
            (Some(secret), None) => {
                if secret.len() < 32 {
                    return Err(self.err(
                        "Auth.Jwt.Hs256Secret",
                        format!("is {} bytes; use at least 32 random bytes", secret.len()),
                    ));
                }
                Ok(Some(JwtVerifier::hs256(
                    secret.as_bytes(),
                    issuer.as_deref(),
                    audience.as_deref(),
                )))
            }
            (None, Some(file)) => {
                let key = "Auth.Jwt.Rs256PublicKeyFile";
                let path = self.resolve_file(key, &file)?;
                let pem = std::fs::read(&path)
                    .map_err(|e| self.err(key, format!("{}: cannot read: {e}", path.display())))?;
                JwtVerifier::rs256_pem(&pem, issuer.as_deref(), audience.as_deref())
                    .map(Some)
                    .map_err(|e| self.err(key, format!("{}: {e}", path.display())))
            }
        }
    }

    pub(super) fn load_rate_limit(&self) -> Result<Option<RateLimitConfig>, ConfigError> {
        let map = match self.obj.get("RateLimit") {
            None | Some(Value::Null) | Some(Value::Bool(true)) => {
                return Ok(Some(RateLimitConfig::default()))
            }
            Some(Value::Bool(false)) => return Ok(None),
            Some(Value::Object(m)) => m,
            Some(other) => {
                return Err(self.err(
                    "RateLimit",
                    format!(
                        "must be {{\"RequestsPerMinute\": n, \"Burst\": n}} or false, got {other}"
                    ),
                ))
            }
        };
        let mut rl = RateLimitConfig::default();
        for (k, v) in map {
            let slot = match k.as_str() {
                "RequestsPerMinute" => &mut rl.requests_per_minute,
                "Burst" => &mut rl.burst,
                _ if k.starts_with('_') => continue,
                _ => {
                    return Err(self.err(
                        &format!("RateLimit.{k}"),
                        "unknown key (expected RequestsPerMinute, Burst)",
                    ))
                }
            };
            *slot = v
                .as_u64()
                .filter(|n| (1..=u32::MAX as u64).contains(n))
                .ok_or_else(|| {
                    self.err(
                        &format!("RateLimit.{k}"),
                        format!("must be a whole number of at least 1, got {v}"),
                    )
                })? as u32;
        }
        Ok(Some(rl))
    }
}
