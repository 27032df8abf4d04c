//! The input of `score` cut into chunks of whole records, so that the workers can each parse their
//! own chunk and get exactly the records, and line numbers, of one reader parsing the whole file.
//!
//! A chunk must end where csv_core, set up as `score::csv_reader` does it (quote '"', a doubled quote
//! as the only escape, no comment character, '\n' the only terminator), ends a record: just after a
//! '\n' that is not inside a quoted field. Outside quotes a '"' opens a quoted field only at the start
//! of a field (at the start of a record or just after a ','); anywhere else it is an ordinary byte.
//! Inside quotes "" is a quote and a single '"' ends the quoting; what follows it up to the next ','
//! or '\n' is unquoted, so a '"' there is ordinary again. The scan jumps from one '"' or '\n' to the
//! next (`memchr2`), so it costs far less than parsing.

use std::io::{self, Read};

use memchr::memchr2;

/// Finds where records end in bytes that start at a record start, resumably: scan what has been
/// read, read more, scan again from where it stopped; `cut` then starts over at the last record end.
#[derive(Debug, Default, Clone)]
pub struct RecordScanner {
    /// Bytes scanned so far.
    scanned: usize,
    /// Whether `scanned` is inside a quoted field.
    in_quotes: bool,
    /// Where the record being scanned starts: just after the last record end found (0 at first).
    record_start: usize,
    /// Records ended before `record_start`, counted as csv_core counts them: empty lines are not
    /// records.
    records: usize,
    /// '\n' bytes before `scanned` and before `record_start` (csv_core counts lines by them).
    newlines: u64,
    newlines_before_record: u64,
}

impl RecordScanner {
    /// Scans on, to the end of `bytes` or until `max_records` records have ended (then it stops just
    /// after the last one's '\n'). `bytes` must begin with the bytes scanned before, unchanged.
    pub fn scan(&mut self, bytes: &[u8], max_records: usize) {
        let mut at = self.scanned;
        while self.records < max_records {
            let Some(found) = memchr2(b'"', b'\n', &bytes[at..]) else {
                at = bytes.len();
                break;
            };
            let i = at + found;
            if bytes[i] == b'\n' {
                self.newlines += 1;
                at = i + 1;
                if !self.in_quotes {
                    if i > self.record_start {
                        self.records += 1;
                    }
                    self.record_start = at;
                    self.newlines_before_record = self.newlines;
                }
            } else if self.in_quotes {
                match bytes.get(i + 1) {
                    // An escaped quote or the end of the quoting: the next byte decides.
                    None => {
                        at = i;
                        break;
                    }
                    Some(b'"') => at = i + 2,
                    Some(_) => {
                        self.in_quotes = false;
                        at = i + 1;
                    }
                }
            } else {
                // Only a quote at the start of a field opens a quoted field. Outside quotes every
                // byte since the last '"' or '\n' was read unquoted, so a ',' or '\n' just before
                // this quote was a separator or a record end.
                self.in_quotes = i == 0 || matches!(bytes[i - 1], b',' | b'\n');
                at = i + 1;
            }
        }
        self.scanned = at;
    }

    /// Records ended so far.
    pub fn records(&self) -> usize {
        self.records
    }

    /// Where the last record found ends (0 if none).
    pub fn last_end(&self) -> usize {
        self.record_start
    }

    /// Cuts the bytes just after the last record found: returns that length and the '\n' bytes in
    /// it, and goes on as if the bytes after it were the beginning.
    pub fn cut(&mut self) -> (usize, u64) {
        let (end, newlines) = (self.record_start, self.newlines_before_record);
        self.scanned -= end;
        self.newlines -= newlines;
        self.record_start = 0;
        self.newlines_before_record = 0;
        self.records = 0;
        (end, newlines)
    }

    /// The '\n' bytes scanned so far (at the end of the input: all of them, since a scan stops
    /// short of the end only at a '"').
    pub fn newlines(&self) -> u64 {
        self.newlines
    }
}

/// One chunk of the input in a caller's buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chunk {
    /// Bytes of the buffer that hold the chunk.
    pub len: usize,
    /// The input offset of the chunk's end.
    pub end_offset: u64,
    /// The line number (1-based, as csv_core counts them) at the chunk's first byte.
    pub first_line: u64,
}

/// Reads an input into chunks of whole records, each at most `max_records` records and, unless a
/// record alone is longer, about `target_bytes`.
pub struct ChunkReader<R> {
    input: R,
    scanner: RecordScanner,
    /// Bytes read after the end of the last chunk, moved to the start of the next one.
    carry: Vec<u8>,
    eof: bool,
    offset: u64,
    line: u64,
    target_bytes: usize,
    max_records: usize,
}

/// Bytes asked of the input per read: small enough that a chunk cut after a few records does not
/// carry much over to the next one.
const READ_BYTES: usize = 64 << 10;

impl<R: Read> ChunkReader<R> {
    pub fn new(input: R, target_bytes: usize, max_records: usize) -> ChunkReader<R> {
        ChunkReader {
            input,
            scanner: RecordScanner::default(),
            carry: Vec::new(),
            eof: false,
            offset: 0,
            line: 1,
            target_bytes: target_bytes.max(1),
            max_records: max_records.max(1),
        }
    }

    /// Fills `buffer` (its length is its usable size: it is only grown, never shrunk or cleared)
    /// with the next chunk; `None` at the end of the input.
    pub fn next_chunk(&mut self, buffer: &mut Vec<u8>) -> io::Result<Option<Chunk>> {
        if buffer.len() < self.target_bytes.max(self.carry.len()) {
            buffer.resize(self.target_bytes.max(self.carry.len()), 0);
        }
        let mut len = self.carry.len();
        buffer[..len].copy_from_slice(&self.carry);
        let chunk = loop {
            self.scanner.scan(&buffer[..len], self.max_records);
            if self.scanner.records() >= self.max_records || (len >= self.target_bytes && self.scanner.last_end() > 0) {
                let (end, newlines) = self.scanner.cut();
                self.carry.clear();
                self.carry.extend_from_slice(&buffer[end..len]);
                break self.finish(end, newlines);
            }
            if self.eof {
                if len == 0 {
                    return Ok(None);
                }
                let newlines = self.scanner.newlines();
                self.scanner = RecordScanner::default();
                self.carry.clear();
                break self.finish(len, newlines);
            }
            if len == buffer.len() {
                // A record longer than the buffer: it grows (and stays grown).
                buffer.resize(buffer.len() * 2, 0);
            }
            let until = buffer.len().min(len + READ_BYTES);
            match self.input.read(&mut buffer[len..until]) {
                Ok(0) => self.eof = true,
                Ok(count) => len += count,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(error),
            }
        };
        Ok(Some(chunk))
    }

    fn finish(&mut self, len: usize, newlines: u64) -> Chunk {
        let chunk = Chunk { len, end_offset: self.offset + len as u64, first_line: self.line };
        self.offset += len as u64;
        self.line += newlines;
        chunk
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The csv crate as `score` sets it up (without headers): where each record ends, and the line
    /// after it.
    fn csv_record_ends(bytes: &[u8]) -> Vec<(u64, u64)> {
        let mut reader = crate::score::csv_builder().has_headers(false).from_reader(bytes);
        let mut record = csv::ByteRecord::new();
        let mut ends = Vec::new();
        while reader.read_byte_record(&mut record).unwrap() {
            ends.push((reader.position().byte(), reader.position().line()));
        }
        ends
    }

    /// Record ends found by parsing each chunk on its own, with the chunk's first line.
    fn chunked_record_ends(bytes: &[u8], target_bytes: usize, max_records: usize) -> Vec<(u64, u64)> {
        let mut chunks = ChunkReader::new(Trickle { bytes, at: 0, step: 7 }, target_bytes, max_records);
        let mut buffer = Vec::new();
        let mut ends = Vec::new();
        let mut start = 0u64;
        while let Some(chunk) = chunks.next_chunk(&mut buffer).unwrap() {
            assert_eq!(&buffer[..chunk.len], &bytes[start as usize..chunk.end_offset as usize], "chunk bytes");
            for (end, line) in csv_record_ends(&buffer[..chunk.len]) {
                ends.push((start + end, chunk.first_line + line - 1));
            }
            start = chunk.end_offset;
        }
        assert_eq!(start, bytes.len() as u64, "every byte is in a chunk");
        ends
    }

    /// An input that returns a few bytes per read, so that reads end anywhere.
    struct Trickle<'b> {
        bytes: &'b [u8],
        at: usize,
        step: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
            let count = buffer.len().min(self.step).min(self.bytes.len() - self.at);
            buffer[..count].copy_from_slice(&self.bytes[self.at..self.at + count]);
            self.at += count;
            Ok(count)
        }
    }

    /// Record ends (after the '\n') that the scanner finds in the whole input at once.
    fn scanned_ends(bytes: &[u8]) -> Vec<usize> {
        let mut scanner = RecordScanner::default();
        let mut ends = Vec::new();
        let mut base = 0;
        loop {
            scanner.scan(&bytes[base..], 1);
            if scanner.records() == 0 {
                return ends;
            }
            let (end, _) = scanner.cut();
            base += end;
            ends.push(base);
        }
    }

    fn check(bytes: &[u8]) {
        let expected = csv_record_ends(bytes);
        for (target_bytes, max_records) in [(1, usize::MAX), (3, 2), (16, 1), (64, 3), (1 << 20, usize::MAX)] {
            assert_eq!(
                chunked_record_ends(bytes, target_bytes, max_records),
                expected,
                "{:?} in chunks of {target_bytes} bytes, {max_records} records",
                String::from_utf8_lossy(bytes)
            );
        }
        // Each record end the scanner finds is one the csv reader finds (it may find one more: a
        // last record without a final '\n').
        let found: Vec<u64> = scanned_ends(bytes).into_iter().map(|end| end as u64).collect();
        let csv_ends: Vec<u64> = expected.iter().map(|(end, _)| *end).collect();
        assert!(csv_ends.starts_with(&found) && csv_ends.len() - found.len() <= 1, "{:?}: scanner {found:?}, csv {csv_ends:?}", String::from_utf8_lossy(bytes));
    }

    #[test]
    fn chunks_end_where_the_csv_reader_ends_records() {
        let cases: &[&[u8]] = &[
            b"",
            b"\n",
            b"\n\n\n",
            b"a",
            b"a\n",
            b"a,b\nc,d\n",
            b"a,b\nc,d",
            b"\"quoted\nnewline\",x\ny\n",
            b"\"a\"\"b\",c\nd\n",
            b"\"\"\"\"\n\"\"\n",
            b"\"a\"b\"c\nd\n",
            b"\"a\"b,\"c\nd\",e\nf\n",
            b"ab\"c\nd\"\n",
            b"a,\"b\nc\"\n\"\n\"\n",
            b"a\r\nb\r\n\r\nc\r\n",
            b"a\r\n\"b\r\nc\"\r\n",
            b"\r\n\r\n",
            b"\r\r\n",
            b"\n\na\n\n\nb",
            b"x,\"3'40\"\"\",y\nz,\"3'40\"\"\",w\n",
            b"\"never closed\nat all\n",
            b"a,\"",
            b"a,\"\"",
            b"a,\"\"\"",
            b",\"\n\",\n",
        ];
        for case in cases {
            check(case);
        }
        // A record longer than the chunk, and longer than a read.
        let mut long = b"short\n\"".to_vec();
        long.extend(std::iter::repeat_n(b"x,\n\"\"y".as_slice(), 40_000).flatten());
        long.extend_from_slice(b"\",end\nafter\n");
        check(&long);
        assert_eq!(chunked_record_ends(&long, 1024, usize::MAX).len(), 3);
    }

    #[test]
    fn counts_records_and_lines_as_csv_does() {
        let bytes = b"h\n\n\"a\nb\",c\n\nd\n";
        let mut chunks = ChunkReader::new(&bytes[..], 1 << 20, 1);
        let mut buffer = Vec::new();
        let mut found = Vec::new();
        while let Some(chunk) = chunks.next_chunk(&mut buffer).unwrap() {
            found.push((String::from_utf8_lossy(&buffer[..chunk.len]).into_owned(), chunk.first_line, chunk.end_offset));
        }
        let expected = [("h\n", 1, 2), ("\n\"a\nb\",c\n", 2, 11), ("\nd\n", 5, 14)];
        assert_eq!(found, expected.map(|(text, line, end)| (text.to_string(), line, end)));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn random_inputs_are_cut_where_the_csv_reader_ends_records(
            bytes in proptest::collection::vec(proptest::sample::select(vec![b'a', b',', b'"', b'\n', b'\r']), 0..80)
        ) {
            check(&bytes);
        }
    }
}
