//! The example configs in `server/` load as documented.

mod common;

use app_token_server::{Config, ENV_ACCESS_KEY_ID, ENV_ACCESS_KEY_SECRET};
use std::path::Path;

/// Copies an example config into a temp folder next to `policy/` (as the README says to).
fn place(example: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(example)).unwrap();
    let cfg = common::write_config(&serde_json::from_str(&text).unwrap());
    (cfg.dir, cfg.file)
}

#[test]
fn the_demo_example_loads_without_any_environment() {
    let (_dir, file) = place("config.example.json");
    let c = Config::load_with_env(&file, &|_| None).unwrap();
    assert!(c.auth.is_none());
    assert_eq!(c.scope_names(), ["read", "write", "read-write"]);
}

#[test]
fn the_production_example_needs_its_secrets_from_the_environment() {
    let (dir, file) = place("config.production.example.json");
    std::fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/jwt_test_public.pem"
        ),
        dir.path().join("jwt_public.pem"),
    )
    .unwrap();
    let e = Config::load_with_env(&file, &|_| None).unwrap_err();
    assert_eq!(e.key.as_deref(), Some("AccessKeyID"));
    assert!(e.problem.contains(ENV_ACCESS_KEY_ID), "{e}");

    let env = |name: &str| match name {
        ENV_ACCESS_KEY_ID => Some("LTAIprod".to_string()),
        ENV_ACCESS_KEY_SECRET => Some("prod-secret".to_string()),
        _ => None,
    };
    let c = Config::load_with_env(&file, &env).unwrap();
    assert!(c.auth.is_some());
    assert_eq!(c.access_key.id, "LTAIprod");
    assert_eq!(c.object_prefix, "app/");
}
