//! Handles to the files the user picked.
//!
//! The webview never names a file by path: the backend opens the picker, records what the user
//! chose, and gives the UI an opaque id. `describe_file`, `preview_file` and `start_upload` take
//! that id, so a script in the webview cannot make the app read (or upload) anything the user did
//! not pick, such as the settings file with the user token. Ids live as long as the app runs;
//! an unfinished upload is resumed later by its upload id, from the history the backend keeps.

use crate::error::{Error, Result};
use rand::RngCore;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// A file the user picked, as the backend knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pick {
    /// The file as picked (a path, or a `content://` URI on Android), for the history.
    pub source: String,
    /// The readable file the upload reads (a copy in the app cache for a `content://` pick).
    pub local: PathBuf,
    /// The file's name as the user knows it.
    pub name: String,
}

/// The ids issued for picked files.
#[derive(Debug, Default)]
pub struct Picks {
    issued: Mutex<HashMap<String, Pick>>,
}

/// The prefix of every id, so a mistaken value is easy to tell in an error.
const ID_PREFIX: &str = "pick-";

impl Picks {
    /// Records a file the user picked (it must be a readable regular file) and returns its new
    /// id: 128 random bits, so ids cannot be guessed.
    pub fn issue(&self, source: String, local: PathBuf, name: String) -> Result<String> {
        let meta =
            std::fs::metadata(&local).map_err(|e| Error::Io(format!("cannot read {name}: {e}")))?;
        if !meta.is_file() {
            return Err(Error::Invalid(format!("{name} is not a file")));
        }
        let mut bits = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut bits);
        let id = format!("{ID_PREFIX}{}", hex::encode(bits));
        self.issued.lock().expect("picks lock").insert(
            id.clone(),
            Pick {
                source,
                local,
                name,
            },
        );
        Ok(id)
    }

    /// The file behind an id this app issued; anything else (an id never issued, a path) is
    /// refused.
    pub fn get(&self, id: &str) -> Result<Pick> {
        self.issued
            .lock()
            .expect("picks lock")
            .get(id)
            .cloned()
            .ok_or_else(|| {
                Error::Invalid(format!(
                    "{} is not a file picked in this session: pick it with Select Image",
                    shown(id)
                ))
            })
    }

    /// Forgets every id whose file is `local` (its cached copy was removed).
    pub fn forget_local(&self, local: &Path) {
        self.issued
            .lock()
            .expect("picks lock")
            .retain(|_, p| p.local != local);
    }
}

/// An id as shown in an error: short, and without control characters.
fn shown(id: &str) -> String {
    let clean: String = id.chars().filter(|c| !c.is_control()).take(80).collect();
    format!("{clean:?}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_ids_resolve_and_nothing_else_does() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("cat.png");
        std::fs::write(&file, b"png").unwrap();
        let picks = Picks::default();
        let id = picks
            .issue(file.display().to_string(), file.clone(), "cat.png".into())
            .unwrap();
        assert!(id.starts_with(ID_PREFIX) && id.len() == ID_PREFIX.len() + 32);
        assert_eq!(picks.get(&id).unwrap().local, file);
        let other = picks
            .issue(file.display().to_string(), file.clone(), "cat.png".into())
            .unwrap();
        assert_ne!(id, other, "each pick gets a fresh id");

        // A path, even of the picked file itself, is not a handle.
        let err = picks.get(&file.display().to_string()).unwrap_err();
        assert_eq!(err.kind(), "input");
        assert!(err.to_string().contains("not a file picked"), "{err}");
        assert!(picks.get("pick-00000000000000000000000000000000").is_err());

        picks.forget_local(&file);
        assert!(picks.get(&id).is_err());
    }

    #[test]
    fn only_readable_regular_files_are_issued() {
        let dir = tempfile::tempdir().unwrap();
        let picks = Picks::default();
        let err = picks
            .issue("d".into(), dir.path().to_path_buf(), "d".into())
            .unwrap_err();
        assert!(err.to_string().contains("not a file"), "{err}");
        let err = picks
            .issue("x".into(), dir.path().join("missing"), "missing".into())
            .unwrap_err();
        assert_eq!(err.kind(), "file");
    }
}
