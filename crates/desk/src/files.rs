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
        write_aside(&temp, &path, write_synced(&temp, bytes)).await?;
        Ok(hash)
    }

    pub async fn get(&self, sha256: &str) -> io::Result<Vec<u8>> {
        let path = self
            .path(sha256)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "bad hash"))?;
        tokio::fs::read(path).await
    }
}

async fn write_synced(temp: &std::path::Path, bytes: &[u8]) -> io::Result<()> {
    use tokio::io::AsyncWriteExt;
    let mut file = tokio::fs::File::create(temp).await?;
    file.write_all(bytes).await?;
    file.sync_all().await
}

/// Finishes a write aside: renames the temporary file into place, or removes it when the
/// write (a full disk, an I/O error) or the rename failed, so no temporary file outlives
/// a failed upload.
async fn write_aside(
    temp: &std::path::Path,
    path: &std::path::Path,
    written: impl std::future::Future<Output = io::Result<()>>,
) -> io::Result<()> {
    let outcome = match written.await {
        Ok(()) => tokio::fs::rename(temp, path).await,
        Err(e) => Err(e),
    };
    if outcome.is_err() {
        // The write's own error is the one to report; the file may not even exist.
        let _ = tokio::fs::remove_file(temp).await;
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_failed_write_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let temp = dir.path().join(".partial");
        let path = dir.path().join("stored");
        // Half the bytes reach the disk, then it is full.
        let full_disk = async {
            tokio::fs::write(&temp, b"half").await?;
            Err(io::Error::new(
                io::ErrorKind::StorageFull,
                "no space left on device",
            ))
        };
        let error = write_aside(&temp, &path, full_disk).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::StorageFull);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        // A rename that fails (the target is a non-empty folder) cleans up too.
        std::fs::create_dir_all(path.join("occupied")).unwrap();
        write_aside(&temp, &path, write_synced(&temp, b"bytes"))
            .await
            .unwrap_err();
        assert!(!temp.exists());
    }

    #[tokio::test]
    async fn a_full_disk_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("files");
        std::fs::create_dir_all(root.join("2c")).unwrap();
        let full = root
            .join("2c")
            .join(".cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824.1");
        // /dev/full answers every write with "no space left on device".
        std::os::unix::fs::symlink("/dev/full", &full).unwrap();
        let error = write_aside(
            &full,
            &root.join("2c").join("x"),
            write_synced(&full, b"hello"),
        )
        .await
        .unwrap_err();
        // "No space left" from the write, or "invalid argument" from syncing a device.
        assert!(matches!(error.raw_os_error(), Some(28 | 22)), "{error}");
        assert!(std::fs::symlink_metadata(&full).is_err());
        assert_eq!(std::fs::read_dir(root.join("2c")).unwrap().count(), 0);
    }

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
