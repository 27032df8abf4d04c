//! The output file of `score`, written past the page cache where the file system allows it.
//!
//! `score` writes about twice its input (1 GiB for 10 M records). Written through the page cache,
//! every page of it is a fresh page the kernel must allocate, and on a virtual machine whose host
//! takes freed memory back, that costs from 0.3 s to 4 s of system time per GiB depending on the
//! moment (measured with `dd`; see BENCHMARKS.md). Opened with `O_DIRECT` (Linux), the file is
//! written from an aligned buffer of whole blocks straight to the device: ~0.2 s of CPU per GiB,
//! the same every time. The last partial block goes through an ordinary handle. Where `O_DIRECT` is
//! refused (tmpfs, other systems), at opening or at the first write, the file is written as usual.

use std::fs::{File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// The alignment `O_DIRECT` needs of the buffer's address, of each write's length and of the file
/// offset: the page size, a multiple of every device's logical block size.
const ALIGNMENT: usize = 4096;
/// Bytes gathered before a direct write.
const BLOCK_BYTES: usize = 4 << 20;

pub struct OutputFile {
    path: PathBuf,
    file: File,
    /// Gathers output for direct writes (`None`: the file is written through the page cache).
    direct: Option<DirectBuffer>,
    /// Bytes already in the file.
    written: u64,
}

struct DirectBuffer {
    /// `BLOCK_BYTES + ALIGNMENT` bytes, of which `BLOCK_BYTES` from `start` are aligned.
    bytes: Vec<u8>,
    start: usize,
    length: usize,
}

impl DirectBuffer {
    fn new() -> DirectBuffer {
        let bytes = vec![0u8; BLOCK_BYTES + ALIGNMENT];
        let start = bytes.as_ptr().align_offset(ALIGNMENT);
        DirectBuffer { bytes, start, length: 0 }
    }

    fn block(&mut self) -> &mut [u8] {
        &mut self.bytes[self.start..self.start + BLOCK_BYTES]
    }
}

impl OutputFile {
    /// Creates (or truncates) the file, direct if `direct` is asked and the system allows it.
    pub fn create(path: &Path, direct: bool) -> io::Result<OutputFile> {
        if direct && let Some(file) = open_direct(path) {
            return Ok(OutputFile { path: path.to_path_buf(), file, direct: Some(DirectBuffer::new()), written: 0 });
        }
        let file = File::create(path)?;
        Ok(OutputFile { path: path.to_path_buf(), file, direct: None, written: 0 })
    }

    pub fn is_direct(&self) -> bool {
        self.direct.is_some()
    }

    pub fn write_all(&mut self, mut bytes: &[u8]) -> io::Result<()> {
        while !bytes.is_empty() {
            let Some(buffer) = self.direct.as_mut() else {
                self.file.write_all(bytes)?;
                self.written += bytes.len() as u64;
                return Ok(());
            };
            let taken = bytes.len().min(BLOCK_BYTES - buffer.length);
            let at = buffer.length;
            buffer.block()[at..at + taken].copy_from_slice(&bytes[..taken]);
            buffer.length += taken;
            bytes = &bytes[taken..];
            if buffer.length == BLOCK_BYTES {
                self.write_block(BLOCK_BYTES)?;
            }
        }
        Ok(())
    }

    /// Writes the first `length` bytes of the buffer (a multiple of `ALIGNMENT`) directly, and keeps
    /// the rest at its start. Falls back to the page cache if the system refuses the direct write.
    fn write_block(&mut self, length: usize) -> io::Result<()> {
        let Some(buffer) = self.direct.as_mut() else { return Ok(()) };
        debug_assert_eq!(length % ALIGNMENT, 0);
        let result = self.file.write_all(&buffer.block()[..length]);
        if let Err(error) = result {
            if error.kind() != io::ErrorKind::InvalidInput || self.written > 0 {
                return Err(error);
            }
            // Refused at the first write (EINVAL): the same bytes through an ordinary handle.
            let pending = buffer.length;
            self.file = OpenOptions::new().write(true).truncate(true).open(&self.path)?;
            self.file.write_all(&buffer.block()[..pending])?;
            self.written = pending as u64;
            self.direct = None;
            return Ok(());
        }
        self.written += length as u64;
        let rest = buffer.length - length;
        let start = buffer.start;
        buffer.bytes.copy_within(start + length..start + length + rest, start);
        buffer.length = rest;
        Ok(())
    }

    /// Writes what is left (the last partial block through an ordinary handle) and flushes.
    pub fn finish(mut self) -> io::Result<()> {
        let Some(length) = self.direct.as_ref().map(|buffer| buffer.length) else {
            return self.file.flush();
        };
        let whole = length - length % ALIGNMENT;
        if whole > 0 {
            self.write_block(whole)?;
        }
        let Some(buffer) = self.direct.as_mut() else { return self.file.flush() };
        if buffer.length > 0 {
            let mut tail = OpenOptions::new().write(true).open(&self.path)?;
            tail.seek(SeekFrom::Start(self.written))?;
            let pending = buffer.length;
            tail.write_all(&buffer.block()[..pending])?;
            tail.flush()?;
        }
        Ok(())
    }
}

#[cfg(target_os = "linux")]
fn open_direct(path: &Path) -> Option<File> {
    use std::os::unix::fs::OpenOptionsExt;
    OpenOptions::new().write(true).create(true).truncate(true).custom_flags(libc::O_DIRECT).open(path).ok()
}

#[cfg(not(target_os = "linux"))]
fn open_direct(_path: &Path) -> Option<File> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes pieces of the given sizes (each a run of its own byte) and reads the file back.
    fn check(direct: bool, sizes: &[usize]) {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("out.csv");
        let mut expect = Vec::new();
        let mut output = OutputFile::create(&path, direct).unwrap();
        for (index, &size) in sizes.iter().enumerate() {
            let piece = vec![b'a' + (index % 26) as u8; size];
            output.write_all(&piece).unwrap();
            expect.extend_from_slice(&piece);
        }
        output.finish().unwrap();
        let found = std::fs::read(&path).unwrap();
        assert_eq!(found.len(), expect.len(), "direct {direct}, sizes {sizes:?}");
        assert!(found == expect, "direct {direct}, sizes {sizes:?}: contents differ");
    }

    #[test]
    fn the_file_holds_exactly_what_was_written() {
        for direct in [true, false] {
            check(direct, &[]);
            check(direct, &[0]);
            check(direct, &[1]);
            check(direct, &[ALIGNMENT]);
            check(direct, &[ALIGNMENT - 1, 2]);
            check(direct, &[BLOCK_BYTES]);
            check(direct, &[BLOCK_BYTES - 1, 1, 1]);
            check(direct, &[3 * BLOCK_BYTES + 17]);
            check(direct, &[1_000_003, 2_500_000, 700_001, 4_194_305, 12]);
        }
    }

    /// An existing longer file is truncated, direct or not.
    #[test]
    fn an_existing_file_is_replaced() {
        for direct in [true, false] {
            let directory = tempfile::tempdir().unwrap();
            let path = directory.path().join("out.csv");
            std::fs::write(&path, vec![b'x'; 3 * BLOCK_BYTES]).unwrap();
            let mut output = OutputFile::create(&path, direct).unwrap();
            output.write_all(b"short\n").unwrap();
            output.finish().unwrap();
            assert_eq!(std::fs::read(&path).unwrap(), b"short\n");
        }
    }
}
