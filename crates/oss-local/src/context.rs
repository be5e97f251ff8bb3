//! The request context: what every handler shares ([`State`]), what a request addresses
//! ([`Target`]), who is asking ([`Principal`]), a canned ACL ([`Acl`]), one authorised call
//! ([`Call`]) and the response type ([`Resp`]). It imports no handler module, so handlers
//! depend on it and never on each other for these.

use crate::config::{Options, Role, User};
use crate::faults::Faults;
use crate::keys::CallbackKey;
use crate::op::Op;
use crate::storage::Storage;
use crate::token::TokenKey;
use axum::body::Body;
use http::Response;
use oss_direct_wire::policy::{allowed_by_all_in, Context, Policy};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// A response with axum's body type (full or streamed).
pub(crate) type Resp = Response<Body>;

/// Everything the handlers share.
pub(crate) struct State {
    /// The options it was started with.
    pub opts: Options,
    /// The RAM users, each with its parsed policy.
    pub users: Vec<(User, Arc<Policy>)>,
    /// The roles `AssumeRole` may assume, each with its parsed policy.
    pub roles: Vec<(Role, Arc<Policy>)>,
    /// Buckets and objects on disk.
    pub storage: Storage,
    /// Issues and verifies STS security tokens.
    pub tokens: TokenKey,
    /// The fault switchboard.
    pub faults: Arc<Faults>,
    /// STS `SignatureNonce`s seen, with when they may be forgotten.
    pub nonces: Mutex<HashMap<String, i64>>,
    /// Signs upload callbacks.
    pub callback_key: CallbackKey,
    /// Where callback receivers fetch the public key (the OSS address, loopback if unspecified).
    pub oss_public_addr: SocketAddr,
    /// The secret the faults admin route requires (`x-oss-local-admin-token`).
    pub admin_token: String,
    /// Ports oss-local listens on (OSS, STS): upload callbacks never go there.
    pub own_ports: [u16; 2],
    /// Turns for image processing jobs (at most `img::CONCURRENT_JOBS` at once).
    pub img_jobs: tokio::sync::Semaphore,
    /// Serialises Complete/Abort of one upload id.
    pub upload_locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl State {
    /// The lock of one upload id (or, for AppendObject, one object), made on first use.
    pub fn upload_lock(&self, upload_id: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut m = self.upload_locks.lock().unwrap_or_else(|e| e.into_inner());
        m.entry(upload_id.to_string()).or_default().clone()
    }

    /// Drops a lock from the table once `held` (the caller's handle, being released) is the
    /// only one left, so per-object locks (AppendObject) do not pile up.
    pub fn release_lock(&self, key: &str, held: Arc<tokio::sync::Mutex<()>>) {
        let mut m = self.upload_locks.lock().unwrap_or_else(|e| e.into_inner());
        if Arc::strong_count(&held) <= 2 {
            m.remove(key);
        }
    }

    /// Drops the lock of a finished upload (holders keep their `Arc`).
    pub fn forget_upload_lock(&self, upload_id: &str) {
        let mut m = self.upload_locks.lock().unwrap_or_else(|e| e.into_inner());
        m.remove(upload_id);
    }
}

/// The addressed bucket and key, and the decoded query.
#[derive(Debug)]
pub(crate) struct Target {
    /// The bucket, from the virtual host or the first path segment (none for ListBuckets).
    pub bucket: Option<String>,
    /// The object key, decoded and checked.
    pub key: Option<String>,
    /// The query parameters, decoded, in request order.
    pub query: Vec<(String, String)>,
    /// The Host header, for `HostId` and `Location`.
    pub host: String,
}

impl Target {
    /// The first value of query parameter `name`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether the query names `name` (with or without a value).
    pub fn has(&self, name: &str) -> bool {
        self.query.iter().any(|(k, _)| k == name)
    }
}

/// Who signed a request.
#[derive(Debug, Clone)]
pub(crate) enum Principal {
    /// No signature at all.
    Anonymous,
    /// A RAM user's long-term key.
    User {
        /// The user's policy.
        policy: Arc<Policy>,
    },
    /// Temporary credentials from `AssumeRole`.
    Session {
        /// The assumed role's policy.
        role_policy: Arc<Policy>,
        /// The session policy passed to `AssumeRole`, if any (it can only narrow the role's).
        session_policy: Option<Arc<Policy>>,
    },
}

impl Principal {
    /// Whether the principal's policies allow `action` on `resource` in context `ctx`.
    pub fn allows(&self, action: &str, resource: &str, ctx: &Context) -> bool {
        match self {
            Principal::Anonymous => false,
            Principal::User { policy } => allowed_by_all_in(&[policy], action, resource, ctx),
            Principal::Session {
                role_policy,
                session_policy,
            } => {
                let mut layers: Vec<&Policy> = vec![role_policy];
                if let Some(s) = session_policy {
                    layers.push(s);
                }
                allowed_by_all_in(&layers, action, resource, ctx)
            }
        }
    }
}

/// A canned ACL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Acl {
    /// Signed requests only.
    #[default]
    Private,
    /// Anyone may read.
    PublicRead,
    /// Anyone may read and write.
    PublicReadWrite,
}

impl Acl {
    /// The canned name.
    pub fn name(self) -> &'static str {
        match self {
            Acl::Private => "private",
            Acl::PublicRead => "public-read",
            Acl::PublicReadWrite => "public-read-write",
        }
    }

    /// Parses a canned name (`default` is not one: see [`object_acl`]).
    pub fn parse(s: &str) -> Option<Acl> {
        match s {
            "private" => Some(Acl::Private),
            "public-read" => Some(Acl::PublicRead),
            "public-read-write" => Some(Acl::PublicReadWrite),
            _ => None,
        }
    }
}

/// One authorised request: the one value every OSS handler takes (with the body, where it
/// reads one).
pub(crate) struct Call<'a> {
    /// What every handler shares.
    pub state: &'a State,
    /// The request line and headers.
    pub parts: &'a http::request::Parts,
    /// The addressed bucket and key, and the query.
    pub target: &'a Target,
    /// The bucket (empty for ListBuckets, the one operation on the service).
    pub bucket: &'a str,
    /// The object key (empty for bucket operations).
    pub key: &'a str,
    /// Who signed the request. `Anonymous` for PostObject, whose form carries the signature
    /// its handler checks.
    pub principal: &'a Principal,
    /// The policy condition keys of the request (source IP, listing prefix, ...).
    pub ctx: &'a Context,
    /// The `x-oss-request-id` of the answer.
    pub request_id: &'a str,
    /// The operation.
    pub op: Op,
    /// The bucket's ACL.
    pub acl: Acl,
}
