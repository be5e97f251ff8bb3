//! Small JSON files in the app's data folder, written atomically.

use crate::error::{Error, Result};
use serde::{de::DeserializeOwned, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Reads `path`, or the default when it does not exist. A damaged file is kept aside as
/// `*.damaged` and the default used, so the app always starts.
pub fn load<T: DeserializeOwned + Default>(path: &Path) -> T {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            tracing::warn!(file = %path.display(), error = %e, "damaged file set aside");
            let _ = std::fs::rename(path, path.with_extension("damaged"));
            T::default()
        }),
        Err(_) => T::default(),
    }
}

/// Writes `value` to `path` through a synced temporary file and a rename.
pub fn save<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let dir: PathBuf = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let fail = |e: std::io::Error| Error::Io(format!("cannot save {}: {e}", path.display()));
    std::fs::create_dir_all(&dir).map_err(fail)?;
    let mut tmp = tempfile::NamedTempFile::new_in(&dir).map_err(fail)?;
    tmp.write_all(&serde_json::to_vec_pretty(value).expect("serializable"))
        .map_err(fail)?;
    tmp.as_file().sync_all().map_err(fail)?;
    tmp.persist(path).map_err(|e| fail(e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_damaged_files() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("sub/x.json");
        assert_eq!(load::<Vec<u32>>(&p), Vec::<u32>::new());
        save(&p, &vec![1u32, 2]).unwrap();
        assert_eq!(load::<Vec<u32>>(&p), vec![1, 2]);
        std::fs::write(&p, b"[1,").unwrap();
        assert_eq!(load::<Vec<u32>>(&p), Vec::<u32>::new());
        assert!(p.with_extension("damaged").exists());
    }
}
