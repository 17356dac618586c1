//! Attachment bytes, stored once per content under the data directory: `files/ab/cdef…`.

use sha2::{Digest, Sha256};
use std::io;
use std::path::PathBuf;

pub struct FileStore {
    root: PathBuf,
}

impl FileStore {
    pub fn new(root: PathBuf) -> Self {
        FileStore { root }
    }

    fn path(&self, sha256: &str) -> Option<PathBuf> {
        let valid = sha256.len() == 64 && sha256.bytes().all(|b| b.is_ascii_hexdigit());
        valid.then(|| self.root.join(&sha256[..2]).join(&sha256[2..]))
    }

    /// Stores the bytes (if not stored yet) and returns their SHA-256 in hex.
    pub async fn put(&self, bytes: &[u8]) -> io::Result<String> {
        let hash = hex::encode(Sha256::digest(bytes));
        let path = self
            .path(&hash)
            .expect("a SHA-256 hex digest is a valid name");
        if tokio::fs::try_exists(&path).await? {
            return Ok(hash);
        }
        let dir = path.parent().expect("hash paths have a parent");
        tokio::fs::create_dir_all(dir).await?;
        // Write aside, then rename: a crash never leaves a half-written file under its hash.
        let temp = dir.join(format!(".{}.{}", &hash[2..], rand::random::<u64>()));
        tokio::fs::write(&temp, bytes).await?;
        tokio::fs::rename(&temp, &path).await?;
        Ok(hash)
    }

    pub async fn get(&self, sha256: &str) -> io::Result<Vec<u8>> {
        let path = self
            .path(sha256)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "bad hash"))?;
        tokio::fs::read(path).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn stores_by_content_once_and_reads_back() {
        let dir = std::env::temp_dir().join(format!("okno-files-{}", rand::random::<u64>()));
        let files = FileStore::new(dir.clone());
        let a = files.put(b"hello").await.unwrap();
        assert_eq!(
            a,
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
        assert_eq!(files.put(b"hello").await.unwrap(), a);
        assert_eq!(files.get(&a).await.unwrap(), b"hello");
        assert!(files.get("../../etc/passwd").await.is_err());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
