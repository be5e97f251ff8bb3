//! The plugin's error: a message the user can act on, and a kind the UI can place it by.

use serde::Serialize;

/// What went wrong, worded for the person holding the phone.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// From the OSS library (token server, OSS, file, network).
    #[error("{}", explain(.0))]
    Oss(#[from] oss_direct::Error),
    /// Bad input from the UI.
    #[error("{0}")]
    Invalid(String),
    /// A local file or folder problem.
    #[error("{0}")]
    Io(String),
    /// No such upload in the history.
    #[error("there is no upload {0} in the history")]
    UnknownUpload(String),
    /// A queued upload did not finish: `kind` as [`Error::kind`] names it (`paused`,
    /// `cancelled`, `denied`, `file`, …), `message` the reason the queue recorded.
    #[error("{message}")]
    Queue {
        /// The kind, for the UI.
        kind: &'static str,
        /// Why, worded for the user.
        message: String,
    },
}

impl Error {
    /// How a queued upload that failed is reported, from what the queue recorded: the kind of
    /// the library's error when this process saw it, else read from the reason.
    pub fn from_queue(kind: Option<oss_direct::ErrorKind>, reason: &str) -> Self {
        let kind = if reason.contains("AccessDenied") {
            "denied"
        } else {
            match kind {
                Some(k) => Error::Oss(oss_direct::Error::new(k, "UploadQueue", "")).kind(),
                None => "oss",
            }
        };
        Error::Queue {
            kind,
            message: reason.to_string(),
        }
    }
}

impl Error {
    /// A stable name for the UI: `server`, `denied`, `network`, `file`, `paused`, `integrity`,
    /// `input`, `cancelled` or `oss`.
    pub fn kind(&self) -> &'static str {
        use oss_direct::ErrorKind as K;
        match self {
            Error::Oss(e) => match e.kind() {
                K::Credentials => "server",
                K::Oss if e.code() == Some("AccessDenied") => "denied",
                K::Oss => "oss",
                K::Network | K::Timeout => "network",
                K::Io | K::FileChanged | K::Checkpoint => "file",
                K::Cancelled => "paused",
                K::Integrity => "integrity",
                K::InvalidInput => "input",
                _ => "oss",
            },
            Error::Invalid(_) => "input",
            Error::Io(_) => "file",
            Error::UnknownUpload(_) => "input",
            Error::Queue { kind, .. } => kind,
        }
    }
}

fn explain(e: &oss_direct::Error) -> String {
    use oss_direct::ErrorKind as K;
    match (e.kind(), e.code()) {
        (K::Oss, Some("AccessDenied")) => format!(
            "OSS refused {} (AccessDenied): the token does not allow this object. Check the object name prefix in Settings.",
            e.operation()
        ),
        (K::Oss, Some("NoSuchBucket")) => {
            "OSS has no such bucket: check Bucket and Region in Settings.".to_string()
        }
        (K::Network | K::Timeout, _) => format!(
            "The network failed during {} ({}). A resumable upload keeps its place: tap Resume when you are back online.",
            e.operation(),
            e.message()
        ),
        _ => e.to_string(),
    }
}

impl Serialize for Error {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Error", 3)?;
        st.serialize_field("kind", self.kind())?;
        st.serialize_field(
            "code",
            &match self {
                Error::Oss(e) => e.code().map(str::to_string),
                _ => None,
            },
        )?;
        st.serialize_field("message", &self.to_string())?;
        st.end()
    }
}

/// `Result` with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;
    use oss_direct::{ErrorKind, OssError};

    #[test]
    fn serializes_kind_code_and_message() {
        let e = Error::from(oss_direct::Error::from_oss(
            "PutObject",
            OssError {
                status: 403,
                code: "AccessDenied".into(),
                ..Default::default()
            },
        ));
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["kind"], "denied");
        assert_eq!(v["code"], "AccessDenied");
        assert!(v["message"].as_str().unwrap().contains("prefix"));
        let e = Error::from(oss_direct::Error::new(
            ErrorKind::Network,
            "UploadPart",
            "cannot connect",
        ));
        assert_eq!(e.kind(), "network");
        assert!(e.to_string().contains("Resume"));
    }
}
