//! Exit codes a script can act on, mapped from the library's [`oss_direct::ErrorKind`].
//!
//! | code | meaning |
//! |---|---|
//! | 0 | done: every file stored and verified |
//! | 1 | something unexpected (see the message) |
//! | 2 | bad command line (clap's own) |
//! | 3 | bad input: a file or folder that cannot be read, a bad key, URL or option |
//! | 4 | refused: the app server or OSS said no (sign-in, AccessDenied, expired or wrong keys) |
//! | 5 | not found: no such object, bucket or upload |
//! | 6 | network: the app server or OSS could not be reached (after `--max-wait` for uploads) |
//! | 7 | integrity: a CRC-64 mismatch, or a file that changed while it was uploaded |
//! | 8 | some files of a batch were not stored (each is reported; the others are) |
//! | 130 | interrupted (Ctrl-C): paused, run the same command again to resume |

use oss_direct::{Error, ErrorKind};

/// Every file stored and verified.
pub const OK: i32 = 0;
/// Something unexpected.
pub const UNEXPECTED: i32 = 1;
/// Bad input.
pub const INPUT: i32 = 3;
/// Refused by the app server or OSS.
pub const REFUSED: i32 = 4;
/// No such object, bucket or upload.
pub const NOT_FOUND: i32 = 5;
/// Network.
pub const NETWORK: i32 = 6;
/// Integrity.
pub const INTEGRITY: i32 = 7;
/// Some files of a batch were not stored.
pub const PARTIAL: i32 = 8;
/// Interrupted and paused.
pub const INTERRUPTED: i32 = 130;

/// A failure: its message (one line) and exit code.
#[derive(Debug)]
pub struct CliError {
    /// The exit code.
    pub code: i32,
    /// What to tell the user.
    pub message: String,
}

impl CliError {
    /// A failure with an explicit code.
    pub fn new(code: i32, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// Bad input.
    pub fn input(message: impl Into<String>) -> Self {
        Self::new(INPUT, message)
    }
}

/// The exit code for a library error.
pub fn code_for(kind: ErrorKind, oss_code: Option<&str>, retryable: bool) -> i32 {
    match kind {
        ErrorKind::InvalidInput | ErrorKind::Io | ErrorKind::Image => INPUT,
        ErrorKind::Network | ErrorKind::Timeout => NETWORK,
        ErrorKind::Credentials if retryable => NETWORK,
        ErrorKind::Credentials => REFUSED,
        ErrorKind::Integrity | ErrorKind::FileChanged => INTEGRITY,
        ErrorKind::Cancelled => INTERRUPTED,
        ErrorKind::Oss => match oss_code {
            Some("NoSuchKey" | "NoSuchBucket" | "NoSuchUpload") => NOT_FOUND,
            Some(c)
                if c.starts_with("AccessDenied")
                    || c.starts_with("InvalidAccessKeyId")
                    || c.starts_with("SignatureDoesNotMatch")
                    || c.contains("SecurityToken") =>
            {
                REFUSED
            }
            _ if retryable => NETWORK,
            _ => UNEXPECTED,
        },
        _ => UNEXPECTED,
    }
}

impl From<Error> for CliError {
    fn from(e: Error) -> Self {
        Self::new(
            code_for(e.kind(), e.code(), e.is_retryable()),
            e.to_string(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_map_to_distinct_codes() {
        assert_eq!(code_for(ErrorKind::InvalidInput, None, false), INPUT);
        assert_eq!(code_for(ErrorKind::Credentials, None, false), REFUSED);
        assert_eq!(code_for(ErrorKind::Credentials, None, true), NETWORK);
        assert_eq!(
            code_for(ErrorKind::Oss, Some("AccessDenied"), false),
            REFUSED
        );
        assert_eq!(
            code_for(ErrorKind::Oss, Some("NoSuchKey"), false),
            NOT_FOUND
        );
        assert_eq!(
            code_for(ErrorKind::Oss, Some("InternalError"), true),
            NETWORK
        );
        assert_eq!(code_for(ErrorKind::Timeout, None, true), NETWORK);
        assert_eq!(code_for(ErrorKind::Integrity, None, false), INTEGRITY);
        assert_eq!(code_for(ErrorKind::Cancelled, None, false), INTERRUPTED);
    }
}
