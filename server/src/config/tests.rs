use super::*;
use serde_json::json;

const POLICY_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../policy");

/// A temp folder holding `config.json` (from `value`) and a copy of `policy/`.
fn setup(value: Value) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("policy")).unwrap();
    for entry in std::fs::read_dir(POLICY_DIR).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(
            entry.path(),
            dir.path().join("policy").join(entry.file_name()),
        )
        .unwrap();
    }
    let file = dir.path().join("config.json");
    std::fs::write(&file, serde_json::to_string_pretty(&value).unwrap()).unwrap();
    (dir, file)
}

fn base() -> Value {
    json!({
        "AccessKeyID": "LTAIfile",
        "AccessKeySecret": "file-secret",
        "RoleArn": "acs:ram::1000000000000000:role/oss-direct-demo",
        "TokenExpireTime": "900",
        "PolicyFile": "policy/bucket_write_policy.txt",
        "Bucket": "demo-bucket",
        "ObjectPrefix": "uploads/",
        "Region": "cn-hangzhou"
    })
}

fn with(mut v: Value, key: &str, val: Value) -> Value {
    v[key] = val;
    v
}

fn without(mut v: Value, key: &str) -> Value {
    v.as_object_mut().unwrap().remove(key);
    v
}

fn no_env(_: &str) -> Option<String> {
    None
}

fn load(v: Value) -> Result<Config, ConfigError> {
    let (_dir, file) = setup(v);
    Config::load_with_env(&file, &no_env)
}

fn load_err(v: Value) -> ConfigError {
    load(v).expect_err("the configuration should be refused")
}

#[test]
fn the_seed_config_with_our_extras_loads() {
    let c = load(base()).unwrap();
    assert_eq!(c.token_expire_seconds, 900);
    assert_eq!(c.access_key.id, "LTAIfile");
    assert_eq!(c.sts_endpoint.as_str(), "https://sts.aliyuncs.com/");
    assert_eq!(c.role_session_name, "app-token-server");
    assert_eq!(c.object_prefix, "uploads/");
    assert!(c.auth.is_none());
    assert_eq!(c.rate_limit, Some(RateLimitConfig::default()));
    assert!(c.token_cache);
    assert!(c.scopes.is_empty());
    assert!(!format!("{c:?}").contains("file-secret"));
}

#[test]
fn token_expire_time_may_be_a_number() {
    let c = load(with(base(), "TokenExpireTime", json!(3600))).unwrap();
    assert_eq!(c.token_expire_seconds, 3600);
}

#[test]
fn environment_overrides_the_access_key() {
    let (_dir, file) = setup(with(base(), "AccessKeySecret", json!("")));
    let env = |name: &str| match name {
        ENV_ACCESS_KEY_ID => Some("LTAIenv".to_string()),
        ENV_ACCESS_KEY_SECRET => Some("env-secret".to_string()),
        _ => None,
    };
    let c = Config::load_with_env(&file, &env).unwrap();
    assert_eq!(c.access_key.id, "LTAIenv");
    assert_eq!(c.access_key.secret, "env-secret");
}

#[test]
fn each_bad_setting_names_its_key() {
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            without(base(), "AccessKeyID"),
            "AccessKeyID",
            "missing (or set ALIBABA_CLOUD_ACCESS_KEY_ID)",
        ),
        (
            with(base(), "AccessKeySecret", json!("")),
            "AccessKeySecret",
            "is empty",
        ),
        (without(base(), "RoleArn"), "RoleArn", "missing"),
        (
            with(base(), "RoleArn", json!("arn:aws:iam::1:role/x")),
            "RoleArn",
            "is not a role ARN",
        ),
        (
            without(base(), "TokenExpireTime"),
            "TokenExpireTime",
            "missing",
        ),
        (
            with(base(), "TokenExpireTime", json!("300")),
            "TokenExpireTime",
            "less than the 900",
        ),
        (
            with(base(), "TokenExpireTime", json!(899)),
            "TokenExpireTime",
            "less than the 900",
        ),
        (
            with(base(), "TokenExpireTime", json!("soon")),
            "TokenExpireTime",
            "whole number",
        ),
        (
            with(base(), "TokenExpireTime", json!(900.5)),
            "TokenExpireTime",
            "whole number",
        ),
        (
            with(base(), "TokenExpireTime", json!(100000)),
            "TokenExpireTime",
            "more than",
        ),
        (without(base(), "PolicyFile"), "PolicyFile", "missing"),
        (
            with(base(), "PolicyFile", json!("policy/nope.txt")),
            "PolicyFile",
            "does not exist",
        ),
        (
            with(base(), "StsEndpoint", json!("sts.aliyuncs.com")),
            "StsEndpoint",
            "is not a URL",
        ),
        (
            with(base(), "StsEndpoint", json!("ftp://sts.aliyuncs.com")),
            "StsEndpoint",
            "https://",
        ),
        (
            with(
                base(),
                "StsEndpoint",
                json!("https://sts.aliyuncs.com/?x=1"),
            ),
            "StsEndpoint",
            "query",
        ),
        (
            with(base(), "StsEndpoint", json!(42)),
            "StsEndpoint",
            "must be a string",
        ),
        (
            with(base(), "OssEndpoint", json!("oss-cn-hangzhou")),
            "OssEndpoint",
            "is not a URL",
        ),
        (
            with(base(), "Bucket", json!("Bad_Bucket")),
            "Bucket",
            "is not a bucket name",
        ),
        (without(base(), "Bucket"), "Bucket", "uses $BUCKET_NAME"),
        (
            with(base(), "ObjectPrefix", json!("/abs/")),
            "ObjectPrefix",
            "starts with '/'",
        ),
        (
            with(base(), "ObjectPrefix", json!("a*")),
            "ObjectPrefix",
            "'*'",
        ),
        (
            with(base(), "RoleSessionName", json!("a b")),
            "RoleSessionName",
            "2-32 characters",
        ),
        (
            with(base(), "StsTimeoutSeconds", json!(0)),
            "StsTimeoutSeconds",
            "at least 1",
        ),
        (
            with(base(), "Tokenexpiretime", json!(900)),
            "Tokenexpiretime",
            "did you mean TokenExpireTime?",
        ),
        (
            with(base(), "Scopes", json!(["admin"])),
            "Scopes",
            "not one of read, write, read-write",
        ),
        (
            with(base(), "Scopes", json!({"read": "policy/missing.txt"})),
            "Scopes.read",
            "does not exist",
        ),
        (
            with(base(), "Scopes", json!("read")),
            "Scopes",
            "must be a list",
        ),
        (
            with(base(), "RateLimit", json!({"Burst": 0})),
            "RateLimit.Burst",
            "at least 1",
        ),
        (
            with(base(), "RateLimit", json!({"PerHour": 5})),
            "RateLimit.PerHour",
            "unknown key",
        ),
        (
            with(base(), "TokenCache", json!("yes")),
            "TokenCache",
            "true or false",
        ),
        (
            with(base(), "Auth", json!({"Jwt": {}})),
            "Auth.Jwt",
            "needs Hs256Secret",
        ),
        (
            with(base(), "Auth", json!({"Jwt": {"Hs256Secret": "short"}})),
            "Auth.Jwt.Hs256Secret",
            "at least 32",
        ),
        (
            with(
                base(),
                "Auth",
                json!({"Jwt": {"Hs256Secret": "x".repeat(32), "Rs256PublicKeyFile": "k.pem"}}),
            ),
            "Auth.Jwt",
            "not both",
        ),
        (
            with(
                base(),
                "Auth",
                json!({"Jwt": {"Rs256PublicKeyFile": "policy/bucket_read_policy.txt"}}),
            ),
            "Auth.Jwt.Rs256PublicKeyFile",
            "not an RSA public key",
        ),
        (
            with(
                base(),
                "Auth",
                json!({"Jwt": {"Rs256PublicKeyFile": "missing.pem"}}),
            ),
            "Auth.Jwt.Rs256PublicKeyFile",
            "does not exist",
        ),
        (
            with(base(), "Auth", json!({"Oidc": {}})),
            "Auth.Oidc",
            "unknown key",
        ),
        (
            with(base(), "Auth", json!({"Jwt": {"Secret": "x"}})),
            "Auth.Jwt.Secret",
            "unknown key",
        ),
    ];
    for (value, key, problem) in cases {
        let e = load_err(value);
        assert_eq!(e.key.as_deref(), Some(key), "{e}");
        assert!(e.problem.contains(problem), "{key}: {e}");
        let line = e.to_string();
        assert!(!line.contains('\n'), "one line: {line}");
        assert!(
            line.contains("config.json: ") && line.contains(&format!("{key}: ")),
            "{line}"
        );
        assert!(!line.contains("file-secret"), "{line}");
    }
}

#[test]
fn unreadable_or_broken_files_are_reported() {
    let e = Config::load_with_env("/nonexistent/config.json", &no_env).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("/nonexistent/config.json: cannot read"),
        "{e}"
    );

    let (dir, file) = setup(base());
    std::fs::write(&file, "{ not json").unwrap();
    let e = Config::load_with_env(&file, &no_env).unwrap_err();
    assert!(e.problem.contains("not valid JSON"), "{e}");

    std::fs::write(&file, serde_json::to_string(&base()).unwrap()).unwrap();
    let policy = dir.path().join("policy/bucket_write_policy.txt");
    std::fs::write(&policy, r#"{"Version": "1", "Statement": [ }"#).unwrap();
    let e = Config::load_with_env(&file, &no_env).unwrap_err();
    assert_eq!(e.key.as_deref(), Some("PolicyFile"));
    assert!(
        e.problem.contains("bucket_write_policy.txt") && e.problem.contains("not valid JSON"),
        "{e}"
    );

    std::fs::write(
        &policy,
        r#"{"Statement": [{"Effect":"Allow","Action":"oss:*","Resource":"*"}]}"#,
    )
    .unwrap();
    let e = Config::load_with_env(&file, &no_env).unwrap_err();
    assert!(e.problem.contains("Version"), "{e}");
}

#[test]
fn a_policy_too_long_for_sts_is_refused_at_start() {
    let (dir, file) = setup(base());
    let actions: Vec<String> = (0..200).map(|i| format!("oss:Action{i}")).collect();
    let policy = json!({"Version": "1", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "acs:oss:*:*:$BUCKET_NAME/$OBJECT_PREFIX*"}]});
    std::fs::write(dir.path().join("policy/big.txt"), policy.to_string()).unwrap();
    std::fs::write(
        &file,
        with(base(), "PolicyFile", json!("policy/big.txt")).to_string(),
    )
    .unwrap();
    let e = Config::load_with_env(&file, &no_env).unwrap_err();
    assert!(e.problem.contains("more than the 2048"), "{e}");
}

#[test]
fn with_auth_the_longest_user_prefix_must_fit() {
    // A template that fits with the plain prefix but not with users/<64 characters>/ added.
    let (dir, file) = setup(base());
    let template = |fill: &str| {
        json!({"Version": "1", "Statement": [{"Effect": "Allow", "Action": "oss:GetObject",
            "Resource": ["acs:oss:*:*:$BUCKET_NAME/$OBJECT_PREFIX*", format!("acs:oss:*:*:$BUCKET_NAME/{fill}")]}]})
        .to_string()
    };
    let bare = PolicyTemplate::from_text(Path::new("t"), template(""))
        .fill("demo-bucket", "uploads/")
        .unwrap()
        .len();
    // 30 characters to spare: enough for "uploads/", not for "uploads/users/<64>/".
    let fill = "x".repeat(crate::policy::STS_POLICY_MAX_LEN - bare - 30);
    std::fs::write(dir.path().join("policy/near.txt"), template(&fill)).unwrap();
    let near = with(base(), "PolicyFile", json!("policy/near.txt"));
    std::fs::write(&file, near.to_string()).unwrap();
    assert!(Config::load_with_env(&file, &no_env).is_ok());
    let authed = with(
        near,
        "Auth",
        json!({"Jwt": {"Hs256Secret": "k".repeat(32)}}),
    );
    std::fs::write(&file, authed.to_string()).unwrap();
    let e = Config::load_with_env(&file, &no_env).unwrap_err();
    assert_eq!(e.key.as_deref(), Some("PolicyFile"));
    assert!(e.problem.contains("2048"), "{e}");
}

#[test]
fn policy_file_is_found_beside_the_config_first() {
    let (dir, file) = setup(base());
    let c = Config::load_with_env(&file, &no_env).unwrap();
    assert_eq!(
        c.default_policy.path,
        dir.path().join("policy/bucket_write_policy.txt")
    );
}

#[test]
fn scopes_by_name_or_by_file() {
    let c = load(with(
        base(),
        "Scopes",
        json!(["read", "write", "read-write"]),
    ))
    .unwrap();
    assert_eq!(c.scope_names(), ["read", "write", "read-write"]);
    let c = load(with(
        base(),
        "Scopes",
        json!({"read": "policy/bucket_read_policy.txt"}),
    ))
    .unwrap();
    assert_eq!(c.scope_names(), ["read"]);
}

#[test]
fn auth_hs256_secret_may_come_from_the_environment() {
    let (_dir, file) = setup(with(base(), "Auth", json!({"Jwt": {"Issuer": "login"}})));
    let env = |name: &str| (name == ENV_JWT_HS256_SECRET).then(|| "e".repeat(40));
    let c = Config::load_with_env(&file, &env).unwrap();
    assert!(c.auth.is_some());
}

#[test]
fn auth_rs256_reads_the_public_key_beside_the_config() {
    let (dir, file) = setup(with(
        base(),
        "Auth",
        json!({"Jwt": {"Rs256PublicKeyFile": "jwt.pem", "Audience": "oss-direct"}}),
    ));
    std::fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/jwt_test_public.pem"
        ),
        dir.path().join("jwt.pem"),
    )
    .unwrap();
    assert!(Config::load_with_env(&file, &no_env)
        .unwrap()
        .auth
        .is_some());
}

#[test]
fn rate_limit_and_cache_can_be_turned_off() {
    let c = load(with(
        with(base(), "RateLimit", json!(false)),
        "TokenCache",
        json!(false),
    ))
    .unwrap();
    assert_eq!(c.rate_limit, None);
    assert!(!c.token_cache);
    let c = load(with(
        base(),
        "RateLimit",
        json!({"RequestsPerMinute": 5, "Burst": 2}),
    ))
    .unwrap();
    assert_eq!(
        c.rate_limit,
        Some(RateLimitConfig {
            requests_per_minute: 5,
            burst: 2
        })
    );
}

#[test]
fn comment_keys_are_ignored() {
    assert!(load(with(base(), "_comment", json!("for the demo"))).is_ok());
}

#[test]
fn user_prefix_joins_with_one_slash() {
    assert_eq!(user_prefix("", "alice"), "users/alice/");
    assert_eq!(user_prefix("app/", "alice"), "app/users/alice/");
    assert_eq!(user_prefix("app", "alice"), "app/users/alice/");
}

#[test]
fn callbacks_default_to_form_bodies_alibaba_keys_and_sqlite_beside_the_config() {
    assert!(
        load(base()).unwrap().database_url.is_none(),
        "off by default"
    );
    let v = with(
        base(),
        "Callback",
        json!({"Url": "https://app.example.com/callback"}),
    );
    let (dir, file) = setup(v);
    let c = Config::load_with_env(&file, &no_env).unwrap();
    let cb = c.callback.as_ref().unwrap();
    assert_eq!(cb.body, crate::callback::DEFAULT_FORM_BODY);
    assert_eq!(
        cb.trusted_key_urls
            .iter()
            .map(Url::as_str)
            .collect::<Vec<_>>(),
        [
            "https://gosspublic.alicdn.com/callback_pub_key_v1.pem",
            "http://gosspublic.alicdn.com/callback_pub_key_v1.pem"
        ]
    );
    assert_eq!(
        c.database_url.unwrap().expose(),
        format!("sqlite://{}/uploads.db?mode=rwc", dir.path().display())
    );
    // The environment overrides the file (a PostgreSQL password stays out of it).
    let env = |name: &str| {
        (name == ENV_DATABASE_URL).then(|| "postgres://app:pw@db.internal:5432/uploads".to_string())
    };
    let c = Config::load_with_env(&file, &env).unwrap();
    assert_eq!(
        c.database_url.unwrap().to_string(),
        "postgres://app:***@db.internal:5432/uploads"
    );
}
