//! What the stand-in serves: listen addresses, data folder, the account (RAM users, roles,
//! buckets). All of it can come from a JSON file (`--config`), field names as below.

use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::PathBuf;

/// The demo bucket created by [`Options::demo`].
pub const DEMO_BUCKET: &str = "demo-bucket";
/// The demo RAM user's AccessKeyId.
pub const DEMO_ACCESS_KEY_ID: &str = "LTAI5tLocalDemoKey";
/// The demo RAM user's AccessKeySecret (a published demo value, not a secret).
pub const DEMO_ACCESS_KEY_SECRET: &str = "LocalDemoSecret";
/// The demo role, whose policy allows `oss:*` on the demo bucket.
pub const DEMO_ROLE_ARN: &str = "acs:ram::1000000000000000:role/oss-direct-demo";
/// The demo account id (the number inside [`DEMO_ROLE_ARN`]).
pub const DEMO_ACCOUNT_ID: &str = "1000000000000000";

/// Everything `start` needs. Build one with [`Options::demo`] and change fields, or load it from
/// JSON (every field optional; missing ones take the demo defaults except the account lists).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Options {
    /// Address of the OSS API (port 0 picks a free port).
    pub oss_listen: SocketAddr,
    /// Address of the STS API (port 0 picks a free port).
    pub sts_listen: SocketAddr,
    /// Folder holding objects, multipart uploads and the token key.
    pub data_dir: PathBuf,
    /// Region of the OSS endpoint (V4 scopes must name it). Default `cn-hangzhou`.
    pub region: String,
    /// The account id used in ARNs and resource names.
    pub account_id: String,
    /// RAM users whose long-term AccessKeys sign OSS requests and AssumeRole calls.
    pub users: Vec<User>,
    /// RAM roles that `AssumeRole` hands out credentials for.
    pub roles: Vec<Role>,
    /// Buckets that exist.
    pub buckets: Vec<BucketConfig>,
    /// Allowed difference between a request's date and the server clock, in seconds (OSS: 900).
    pub max_clock_skew_secs: u64,
    /// Lifetime of issued tokens in seconds regardless of `DurationSeconds` (a fault for tests;
    /// can also be set at run time through `Faults`).
    pub token_lifetime_secs: Option<u64>,
    /// The secret the `/-/faults` admin route requires in `x-oss-local-admin-token`; `None`
    /// (the default) makes a random one on each start.
    pub admin_token: Option<String>,
    /// Largest body of a PutObject or an UploadPart, however it is framed (OSS: 5 GiB, the
    /// default). Tests lower it to check the limit without sending gigabytes.
    pub max_object_size: u64,
}

/// A RAM user with a long-term AccessKey.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct User {
    /// User name (for ARNs and messages).
    pub name: String,
    /// AccessKeyId (`LTAI...`).
    pub access_key_id: String,
    /// AccessKeySecret.
    pub access_key_secret: String,
    /// The user's policy document (RAM policy JSON). Covers `sts:AssumeRole` and any direct
    /// `oss:*` use of the long-term key.
    pub policy: serde_json::Value,
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("name", &self.name)
            .field("access_key_id", &self.access_key_id)
            .field("access_key_secret", &"***")
            .finish()
    }
}

/// A RAM role.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Role {
    /// `acs:ram::<account>:role/<name>`.
    pub arn: String,
    /// Longest `DurationSeconds` accepted (3600..=43200 on the real service).
    #[serde(default = "default_max_session")]
    pub max_session_duration: u64,
    /// The role's permission policy (RAM policy JSON).
    pub policy: serde_json::Value,
}

fn default_max_session() -> u64 {
    3600
}

/// A bucket.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BucketConfig {
    /// Bucket name.
    pub name: String,
    /// `public-read`: anonymous GET/HEAD of objects is allowed.
    #[serde(default)]
    pub public_read: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            oss_listen: SocketAddr::from(([127, 0, 0, 1], 9000)),
            sts_listen: SocketAddr::from(([127, 0, 0, 1], 9001)),
            data_dir: PathBuf::from("oss-local-data"),
            region: "cn-hangzhou".into(),
            account_id: DEMO_ACCOUNT_ID.into(),
            users: Vec::new(),
            roles: Vec::new(),
            buckets: Vec::new(),
            max_clock_skew_secs: 900,
            token_lifetime_secs: None,
            admin_token: None,
            max_object_size: 5 * 1024 * 1024 * 1024,
        }
    }
}

impl Options {
    /// The demo account on loopback with ephemeral ports: bucket [`DEMO_BUCKET`], RAM user
    /// [`DEMO_ACCESS_KEY_ID`] (may assume roles and use `oss:*` on the bucket), and role
    /// [`DEMO_ROLE_ARN`] allowing `oss:*` on the bucket for up to 3600 s.
    pub fn demo(data_dir: PathBuf) -> Self {
        let mut o = Self {
            oss_listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            sts_listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir,
            ..Self::default()
        };
        o.add_demo_account();
        o
    }

    /// Adds the demo user, role and bucket (those not already present).
    pub fn add_demo_account(&mut self) {
        let bucket_policy = serde_json::json!({
            "Version": "1",
            "Statement": [{
                "Effect": "Allow",
                "Action": ["oss:*"],
                "Resource": [
                    format!("acs:oss:*:*:{DEMO_BUCKET}"),
                    format!("acs:oss:*:*:{DEMO_BUCKET}/*")
                ]
            }]
        });
        if !self
            .users
            .iter()
            .any(|u| u.access_key_id == DEMO_ACCESS_KEY_ID)
        {
            let mut user_policy = bucket_policy.clone();
            user_policy["Statement"]
                .as_array_mut()
                .expect("literal above")
                .push(serde_json::json!({
                    "Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"
                }));
            self.users.push(User {
                name: "oss-direct-demo-user".into(),
                access_key_id: DEMO_ACCESS_KEY_ID.into(),
                access_key_secret: DEMO_ACCESS_KEY_SECRET.into(),
                policy: user_policy,
            });
        }
        if !self.roles.iter().any(|r| r.arn == DEMO_ROLE_ARN) {
            self.roles.push(Role {
                arn: DEMO_ROLE_ARN.into(),
                max_session_duration: 3600,
                policy: bucket_policy,
            });
        }
        if !self.buckets.iter().any(|b| b.name == DEMO_BUCKET) {
            self.buckets.push(BucketConfig {
                name: DEMO_BUCKET.into(),
                public_read: false,
            });
        }
    }

    /// The default data folder: `oss-local` in the user's data directory.
    pub fn default_data_dir() -> PathBuf {
        directories::ProjectDirs::from("", "", "oss-local")
            .map(|d| d.data_dir().to_path_buf())
            .unwrap_or_else(|| PathBuf::from("oss-local-data"))
    }
}
