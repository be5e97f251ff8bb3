//! The token server's `config.json` (`app_token_server::Config::load_with_env`, which
//! `Config::load` calls with the process environment): arbitrary bytes written as the config
//! file, with the repo's policy templates beside it, give a Config or a ConfigError naming the
//! file, never a panic. The environment is empty (no secrets from the fuzzing machine).
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::path::PathBuf;
use std::sync::OnceLock;

fn dir() -> &'static (tempfile::TempDir, PathBuf) {
    static D: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    D.get_or_init(|| {
        let d = tempfile::tempdir().expect("temp dir");
        let policy = d.path().join("policy");
        std::fs::create_dir_all(&policy).unwrap();
        for (name, text) in [
            (
                "bucket_write_policy.txt",
                include_str!("../../policy/bucket_write_policy.txt"),
            ),
            (
                "bucket_read_policy.txt",
                include_str!("../../policy/bucket_read_policy.txt"),
            ),
            (
                "bucket_read_write_policy.txt",
                include_str!("../../policy/bucket_read_write_policy.txt"),
            ),
        ] {
            std::fs::write(policy.join(name), text).unwrap();
        }
        let file = d.path().join("config.json");
        (d, file)
    })
}

fuzz_target!(|data: &[u8]| {
    let (_d, file) = dir();
    std::fs::write(file, data).expect("write config");
    match app_token_server::Config::load_with_env(file, &|_| None) {
        Ok(c) => {
            let _ = c.scope_names();
            let _ = format!("{c:?}");
        }
        Err(e) => {
            let msg = e.to_string();
            assert!(msg.contains("config.json"), "{msg}");
        }
    }
});
