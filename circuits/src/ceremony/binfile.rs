//! iden3's binary container, shared by circom's `.r1cs` and snarkjs's
//! `.ptau`, `.zkey` and `.wtns` files: a four-byte kind, a `u32` version, a
//! `u32` section count, then sections of `u32` id, `u64` size and body, all
//! little endian. Sections are found by id, in any order.
//!
//! [`BinFile`] reads a file's section table and then reads sections on
//! demand (a phase-1 file for a large circuit is gigabytes); [`BinWriter`]
//! writes sections in the order they are given.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Errors of reading a binary container.
#[derive(Debug, thiserror::Error)]
pub enum BinFileError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Another kind of file (or not one of these at all).
    #[error("{path}: not a {expected:?} file (it starts with {found:?})")]
    Kind {
        path: PathBuf,
        expected: String,
        found: String,
    },
    /// A version this code does not read.
    #[error("{path}: {kind} version {version}, this build reads version {supported}")]
    Version {
        path: PathBuf,
        kind: String,
        version: u32,
        supported: u32,
    },
    /// The section table runs past the end of the file.
    #[error(
        "{path}: section {id} at byte {offset} with {size} bytes runs past the end ({len} bytes)"
    )]
    Truncated {
        path: PathBuf,
        id: u32,
        offset: u64,
        size: u64,
        len: u64,
    },
    /// A section the format requires is absent, or present more than once.
    #[error("{path}: section {id} ({what}) {problem}")]
    Section {
        path: PathBuf,
        id: u32,
        what: &'static str,
        problem: &'static str,
    },
    /// A read inside a section went past its end.
    #[error("{path}: section {id} has {size} bytes, {wanted} were read from byte {offset}")]
    Short {
        path: PathBuf,
        id: u32,
        size: u64,
        offset: u64,
        wanted: u64,
    },
}

/// Where one section's body lies in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SectionSpan {
    /// Byte offset of the body.
    pub offset: u64,
    /// Body size in bytes.
    pub size: u64,
}

/// An open container: its kind, version and section table.
#[derive(Debug)]
pub struct BinFile {
    path: PathBuf,
    file: File,
    /// The file's version.
    pub version: u32,
    sections: BTreeMap<u32, Vec<SectionSpan>>,
}

impl BinFile {
    /// Opens `path`, checks its kind and version, and reads its section
    /// table.
    ///
    /// # Errors
    /// [`BinFileError`] for an unreadable, foreign or truncated file.
    pub fn open(path: &Path, kind: &[u8; 4], max_version: u32) -> Result<BinFile, BinFileError> {
        let io = |source| BinFileError::Io {
            path: path.to_owned(),
            source,
        };
        let mut file = File::open(path).map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        let mut head = [0u8; 12];
        file.read_exact(&mut head).map_err(|_| BinFileError::Kind {
            path: path.to_owned(),
            expected: String::from_utf8_lossy(kind).into_owned(),
            found: "a file shorter than its header".to_owned(),
        })?;
        if &head[..4] != kind {
            return Err(BinFileError::Kind {
                path: path.to_owned(),
                expected: String::from_utf8_lossy(kind).into_owned(),
                found: String::from_utf8_lossy(&head[..4]).into_owned(),
            });
        }
        let version = u32::from_le_bytes(head[4..8].try_into().expect("4 bytes"));
        if version == 0 || version > max_version {
            return Err(BinFileError::Version {
                path: path.to_owned(),
                kind: String::from_utf8_lossy(kind).into_owned(),
                version,
                supported: max_version,
            });
        }
        let count = u32::from_le_bytes(head[8..12].try_into().expect("4 bytes"));
        let mut sections: BTreeMap<u32, Vec<SectionSpan>> = BTreeMap::new();
        let mut offset = 12u64;
        for _ in 0..count {
            let mut entry = [0u8; 12];
            if offset + 12 > len {
                return Err(BinFileError::Truncated {
                    path: path.to_owned(),
                    id: 0,
                    offset,
                    size: 12,
                    len,
                });
            }
            file.seek(SeekFrom::Start(offset)).map_err(io)?;
            file.read_exact(&mut entry).map_err(io)?;
            let id = u32::from_le_bytes(entry[..4].try_into().expect("4 bytes"));
            let size = u64::from_le_bytes(entry[4..].try_into().expect("8 bytes"));
            let body = offset + 12;
            if body.checked_add(size).is_none_or(|end| end > len) {
                return Err(BinFileError::Truncated {
                    path: path.to_owned(),
                    id,
                    offset: body,
                    size,
                    len,
                });
            }
            sections
                .entry(id)
                .or_default()
                .push(SectionSpan { offset: body, size });
            offset = body + size;
        }
        Ok(BinFile {
            path: path.to_owned(),
            file,
            version,
            sections,
        })
    }

    /// The file's path, for messages.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The one section `id`.
    ///
    /// # Errors
    /// [`BinFileError::Section`] when it is absent or repeated.
    pub fn section(&self, id: u32, what: &'static str) -> Result<SectionSpan, BinFileError> {
        match self.sections.get(&id).map(Vec::as_slice) {
            Some([one]) => Ok(*one),
            Some(_) => Err(self.section_error(id, what, "appears more than once")),
            None => Err(self.section_error(id, what, "is missing")),
        }
    }

    /// Whether section `id` is present.
    pub fn has(&self, id: u32) -> bool {
        self.sections.contains_key(&id)
    }

    fn section_error(&self, id: u32, what: &'static str, problem: &'static str) -> BinFileError {
        BinFileError::Section {
            path: self.path.clone(),
            id,
            what,
            problem,
        }
    }

    /// `len` bytes of section `id` from `offset` inside its body.
    ///
    /// # Errors
    /// [`BinFileError`] when the section is absent or too short.
    pub fn read(
        &mut self,
        id: u32,
        what: &'static str,
        offset: u64,
        len: u64,
    ) -> Result<Vec<u8>, BinFileError> {
        let span = self.section(id, what)?;
        if offset.checked_add(len).is_none_or(|end| end > span.size) {
            return Err(BinFileError::Short {
                path: self.path.clone(),
                id,
                size: span.size,
                offset,
                wanted: len,
            });
        }
        let io = |source| BinFileError::Io {
            path: self.path.clone(),
            source,
        };
        let mut buf = vec![0u8; len as usize];
        self.file
            .seek(SeekFrom::Start(span.offset + offset))
            .map_err(io)?;
        self.file.read_exact(&mut buf).map_err(io)?;
        Ok(buf)
    }

    /// Section `id`'s whole body.
    ///
    /// # Errors
    /// As [`BinFile::read`].
    pub fn read_all(&mut self, id: u32, what: &'static str) -> Result<Vec<u8>, BinFileError> {
        let span = self.section(id, what)?;
        self.read(id, what, 0, span.size)
    }
}

/// Writes a container section by section.
pub struct BinWriter<W: Write> {
    out: W,
}

impl<W: Write> BinWriter<W> {
    /// Writes the header of a `kind` file of `version` with `sections`
    /// sections to come.
    ///
    /// # Errors
    /// Any write error.
    pub fn new(mut out: W, kind: &[u8; 4], version: u32, sections: u32) -> std::io::Result<Self> {
        out.write_all(kind)?;
        out.write_all(&version.to_le_bytes())?;
        out.write_all(&sections.to_le_bytes())?;
        Ok(BinWriter { out })
    }

    /// Writes one section.
    ///
    /// # Errors
    /// Any write error.
    pub fn section(&mut self, id: u32, body: &[u8]) -> std::io::Result<()> {
        self.out.write_all(&id.to_le_bytes())?;
        self.out.write_all(&(body.len() as u64).to_le_bytes())?;
        self.out.write_all(body)
    }

    /// Flushes and returns the writer.
    ///
    /// # Errors
    /// Any write error.
    pub fn finish(mut self) -> std::io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(sections: &[(u32, &[u8])]) -> Vec<u8> {
        let mut w = BinWriter::new(Vec::new(), b"test", 1, sections.len() as u32).unwrap();
        for (id, body) in sections {
            w.section(*id, body).unwrap();
        }
        w.finish().unwrap()
    }

    #[test]
    fn sections_round_trip_in_any_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.bin");
        std::fs::write(&path, written(&[(3, b"three"), (1, b"one"), (2, b"")])).unwrap();
        let mut f = BinFile::open(&path, b"test", 1).unwrap();
        assert_eq!(f.read_all(1, "one").unwrap(), b"one");
        assert_eq!(f.read(3, "three", 1, 3).unwrap(), b"hre");
        assert_eq!(f.read_all(2, "empty").unwrap(), b"");
        assert!(matches!(
            f.read(3, "three", 3, 3),
            Err(BinFileError::Short { .. })
        ));
        assert!(matches!(
            f.section(4, "four"),
            Err(BinFileError::Section { id: 4, .. })
        ));
    }

    #[test]
    fn foreign_truncated_and_repeated_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.bin");
        let good = written(&[(1, b"one"), (1, b"again")]);
        std::fs::write(&path, &good).unwrap();
        let f = BinFile::open(&path, b"test", 1).unwrap();
        assert!(matches!(
            f.section(1, "one"),
            Err(BinFileError::Section { .. })
        ));
        assert!(matches!(
            BinFile::open(&path, b"zkey", 1),
            Err(BinFileError::Kind { .. })
        ));
        std::fs::write(&path, &good[..good.len() - 1]).unwrap();
        assert!(matches!(
            BinFile::open(&path, b"test", 1),
            Err(BinFileError::Truncated { .. })
        ));
        let mut future = good.clone();
        future[4] = 9;
        std::fs::write(&path, &future).unwrap();
        assert!(matches!(
            BinFile::open(&path, b"test", 1),
            Err(BinFileError::Version { version: 9, .. })
        ));
        std::fs::write(&path, b"te").unwrap();
        assert!(matches!(
            BinFile::open(&path, b"test", 1),
            Err(BinFileError::Kind { .. })
        ));
    }
}
