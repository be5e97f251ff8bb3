//! The key upload callbacks are signed with (RSA, made on first use and kept in the data dir).

use crate::storage::write_atomic;
use crate::xml::OssError;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use rsa::RsaPrivateKey;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The signing key, loaded or made on first use.
pub(crate) struct CallbackKey {
    path: PathBuf,
    tmp: PathBuf,
    key: Mutex<Option<RsaPrivateKey>>,
}

impl CallbackKey {
    pub fn new(data_dir: &Path, tmp: PathBuf) -> Self {
        Self {
            path: data_dir.join("callback-key.pem"),
            tmp,
            key: Mutex::new(None),
        }
    }

    fn get(&self) -> Result<RsaPrivateKey, OssError> {
        let mut k = self.key.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(key) = k.as_ref() {
            return Ok(key.clone());
        }
        let key = match std::fs::read_to_string(&self.path) {
            Ok(pem) => RsaPrivateKey::from_pkcs8_pem(&pem).map_err(OssError::internal)?,
            Err(_) => {
                let key = RsaPrivateKey::new(&mut rand::thread_rng(), 1024)
                    .map_err(OssError::internal)?;
                let pem = key
                    .to_pkcs8_pem(LineEnding::LF)
                    .map_err(OssError::internal)?;
                write_atomic(&self.tmp, &self.path, pem.as_bytes())?;
                key
            }
        };
        *k = Some(key.clone());
        Ok(key)
    }

    /// The public key as a PEM `PUBLIC KEY` (SubjectPublicKeyInfo).
    pub fn public_pem(&self) -> Result<String, OssError> {
        self.get()?
            .to_public_key()
            .to_public_key_pem(LineEnding::LF)
            .map_err(OssError::internal)
    }

    /// Signs `message` as OSS signs a callback (RSA PKCS#1 v1.5 over MD5).
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, OssError> {
        oss_direct_wire::callback::signature::sign(&self.get()?, message)
            .map_err(OssError::internal)
    }
}
