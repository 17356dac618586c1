//! Reading files a person points the desk at (configuration, imports) without trusting
//! them: only regular files, and only up to a size, so a symlink to `/dev/zero` or a FIFO
//! is refused at once instead of read until memory runs out or waited on forever.

use std::io::{self, Read};
use std::path::Path;

/// Configuration files (TOML, Markdown articles).
pub const CONFIG_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// The whole file at `path`, if it is a regular file (symlinks to one are followed) of at
/// most `limit` bytes; the error names the file.
pub fn read_file(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    let refuse = |kind: io::ErrorKind, what: String| {
        io::Error::new(kind, format!("{}: {what}", path.display()))
    };
    let metadata = std::fs::metadata(path).map_err(|e| refuse(e.kind(), e.to_string()))?;
    if !metadata.is_file() {
        return Err(refuse(
            io::ErrorKind::InvalidInput,
            "not a regular file".into(),
        ));
    }
    let file = std::fs::File::open(path).map_err(|e| refuse(e.kind(), e.to_string()))?;
    // The path may have been swapped between the look and the open: look again at what
    // was opened.
    let opened = file
        .metadata()
        .map_err(|e| refuse(e.kind(), e.to_string()))?;
    if !opened.is_file() {
        return Err(refuse(
            io::ErrorKind::InvalidInput,
            "not a regular file".into(),
        ));
    }
    if opened.len() > limit {
        return Err(too_large(path, limit));
    }
    let mut bytes = Vec::with_capacity(opened.len() as usize);
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| refuse(e.kind(), e.to_string()))?;
    if bytes.len() as u64 > limit {
        return Err(too_large(path, limit));
    }
    Ok(bytes)
}

/// Like [`read_file`], as UTF-8 text.
pub fn read_text(path: &Path, limit: u64) -> io::Result<String> {
    String::from_utf8(read_file(path, limit)?).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: not UTF-8 text", path.display()),
        )
    })
}

fn too_large(path: &Path, limit: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::FileTooLarge,
        format!("{}: larger than {limit} bytes", path.display()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_fifos_and_folders_are_refused_and_big_files_stopped() {
        let dir = tempfile::tempdir().unwrap();
        let zero = dir.path().join("zero.toml");
        std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
        let error = read_file(&zero, 1024).unwrap_err().to_string();
        assert!(error.contains("zero.toml: not a regular file"), "{error}");
        assert!(read_file(dir.path(), 1024).is_err());
        let fifo = dir.path().join("fifo.toml");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        assert!(
            read_file(&fifo, 1024)
                .unwrap_err()
                .to_string()
                .contains("not a regular file")
        );
        let big = dir.path().join("big.toml");
        std::fs::write(&big, vec![b'#'; 2048]).unwrap();
        assert!(
            read_file(&big, 1024)
                .unwrap_err()
                .to_string()
                .contains("larger than 1024")
        );
        let linked = dir.path().join("linked.toml");
        std::os::unix::fs::symlink(&big, &linked).unwrap();
        assert_eq!(read_file(&linked, 4096).unwrap().len(), 2048);
        std::fs::write(&big, [0xff, 0xfe]).unwrap();
        assert!(
            read_text(&big, 1024)
                .unwrap_err()
                .to_string()
                .contains("not UTF-8")
        );
    }
}
