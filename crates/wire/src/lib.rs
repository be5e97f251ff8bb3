//! What oss-direct's programs exchange, each format defined once: the library and the app write
//! what the token server and oss-local read, and the other way round.
//!
//! - [`sign`]: OSS V1/V4 request signatures and the STS RPC signature (the client signs with
//!   them, oss-local verifies with the same canonical forms, the token server calls STS).
//! - [`token`]: the token server's `GET /` answer and its hints.
//! - [`callback`]: `x-oss-callback` parameters, the bytes OSS signs when calling back, and (feature
//!   `rsa`) that signature.
//! - [`uploads`]: the token server's recorded uploads.
//! - [`policy`]: the RAM policy grammar (with its size limit) and its evaluation.

#![warn(missing_docs)]

pub mod callback;
mod condition;
pub mod policy;
pub mod sign;
pub mod token;
pub mod uploads;
