//! The records of one chunk, split straight from the chunk's bytes: what a `csv::Reader` set up as
//! `score::csv_builder` would read from them (the same fields and line numbers), without copying the
//! chunk into a reader's buffer or each record into a `ByteRecord`.
//!
//! A chunk starts at a record start (`chunks`). From a record start, a line without a '"' is one
//! record whose fields are what lies between its ',' bytes: without a quote nothing is unquoted, and
//! its '\n' ends the record. Those are split in place, eight bytes at a time (`split_plain_line`).
//! An empty line is no record (the CSV reader skips it). A line with a '"' whose fields are each
//! either plain or wholly quoted (`"3'40"""`, closed on the same line and followed by ',' or the
//! line's end) is unquoted into a scratch buffer (`split_quoted_line`). Any other record with a '"'
//! (a quoted field holding a '\n', a quote inside an unquoted field, text after a closing quote) is
//! read by csv_core itself, set up as the `csv_builder` reader is (`core_reader`).

use memchr::memchr;

use fitforall_core::fitness::RowFields;

/// The scratch space of one worker, reused from chunk to chunk.
pub struct RecordScratch {
    core: csv_core::Reader,
    /// Field ends of a plain record, in its line (after each field, at its ',' or the line's end);
    /// as long as the longest line and a word more (see `split_plain_line`).
    plain_ends: Vec<u32>,
    /// Field ends of a record read by csv_core, in `unquoted`.
    quoted_ends: Vec<usize>,
    unquoted: Vec<u8>,
    /// The fields of a line unquoted by `split_quoted_line`, one after another, and their ends.
    line_fields: Vec<u8>,
    line_ends: Vec<usize>,
}

impl Default for RecordScratch {
    fn default() -> RecordScratch {
        RecordScratch {
            core: core_reader(),
            plain_ends: vec![0; 256],
            quoted_ends: Vec::with_capacity(32),
            unquoted: vec![0; 256],
            line_fields: Vec::with_capacity(256),
            line_ends: Vec::with_capacity(32),
        }
    }
}

/// csv_core set up as `score::csv_builder` sets up the csv crate's reader: quote '"', a doubled quote
/// as the only escape, no comments, '\n' the only terminator (the defaults but the terminator).
fn core_reader() -> csv_core::Reader {
    csv_core::ReaderBuilder::new().terminator(csv_core::Terminator::Any(b'\n')).build()
}

/// One record of a chunk.
pub struct ChunkRecord<'r> {
    /// The record's bytes in the chunk, its terminator included.
    pub raw: &'r [u8],
    /// The line the record starts on.
    pub first_line: u64,
    /// The record's bytes without its terminator ('\n', and the '\r' of a CRLF) when they are its
    /// fields joined by ',' exactly as they must be written again: a plain record (no '"': nothing
    /// was unquoted, and no field needs quotes) with no other '\r' (which would need quotes).
    pub verbatim: Option<&'r [u8]>,
    /// The record's fields: `text[start..end]` for each end in `ends`, where a field starts
    /// `separator` bytes after the previous field's end (1: the ',' of a plain record; 0: csv_core's
    /// fields are contiguous).
    text: &'r [u8],
    ends: FieldEnds<'r>,
    separator: usize,
}

/// Where each field of a record ends in its text.
#[derive(Clone, Copy)]
enum FieldEnds<'r> {
    /// A plain line's (four bytes each: half the stores of `usize` when a line is split; see
    /// `MAX_PLAIN_LINE_BYTES`).
    Narrow(&'r [u32]),
    Wide(&'r [usize]),
}

impl FieldEnds<'_> {
    #[inline]
    fn len(&self) -> usize {
        match self {
            FieldEnds::Narrow(ends) => ends.len(),
            FieldEnds::Wide(ends) => ends.len(),
        }
    }

    /// Where the field at `index` ends, and where the one before it ends (0 for the first).
    #[inline]
    fn around(&self, index: usize) -> Option<(usize, usize)> {
        match self {
            FieldEnds::Narrow(ends) => {
                let end = *ends.get(index)? as usize;
                Some((if index == 0 { 0 } else { ends[index - 1] as usize }, end))
            }
            FieldEnds::Wide(ends) => {
                let end = *ends.get(index)?;
                Some((if index == 0 { 0 } else { ends[index - 1] }, end))
            }
        }
    }
}

impl RowFields for ChunkRecord<'_> {
    fn field_count(&self) -> usize {
        self.ends.len()
    }

    #[inline]
    fn field(&self, index: usize) -> &[u8] {
        let Some((previous_end, end)) = self.ends.around(index) else { return b"" };
        let start = if index == 0 { 0 } else { previous_end + self.separator };
        &self.text[start..end]
    }
}

/// The records of `bytes` (which start at a record start, on line `first_line`), one after another.
pub struct ChunkRecords<'c, 's> {
    bytes: &'c [u8],
    at: usize,
    line: u64,
    scratch: &'s mut RecordScratch,
}

impl<'c, 's> ChunkRecords<'c, 's> {
    pub fn new(bytes: &'c [u8], first_line: u64, scratch: &'s mut RecordScratch) -> ChunkRecords<'c, 's> {
        ChunkRecords { bytes, at: 0, line: first_line, scratch }
    }

    /// The next record, or `None` at the end of the chunk.
    pub fn next_record(&mut self) -> Option<ChunkRecord<'_>> {
        loop {
            let rest = &self.bytes[self.at..];
            if rest.is_empty() {
                return None;
            }
            let line_length = memchr(b'\n', rest).map_or(rest.len(), |i| i + 1);
            let line = &rest[..line_length];
            if line.len() > MAX_PLAIN_LINE_BYTES {
                return Some(self.next_quoted_record());
            }
            if line == b"\n" {
                self.at += 1;
                self.line += 1;
                continue;
            }
            let body = line.strip_suffix(b"\n").unwrap_or(line);
            let ends = &mut self.scratch.plain_ends;
            if ends.len() < body.len() + WORD + 1 {
                ends.resize(body.len() + WORD + 1, 0);
            }
            let PlainSplit { fields, quotes, carriage_returns } = split_plain_line(body, ends);
            if quotes {
                let first_line = self.line;
                let RecordScratch { line_fields, line_ends, .. } = &mut *self.scratch;
                let Some(canonical) = split_quoted_line(body, carriage_returns, line_fields, line_ends) else { return Some(self.next_quoted_record()) };
                self.at += line_length;
                self.line += u64::from(line_length != body.len());
                let verbatim = canonical.then_some(body);
                let ends = FieldEnds::Wide(&self.scratch.line_ends);
                return Some(ChunkRecord { raw: line, first_line, verbatim, text: &self.scratch.line_fields, ends, separator: 0 });
            }
            let verbatim = match carriage_returns.then(|| memchr(b'\r', body)).flatten() {
                None => Some(body),
                Some(at) if at + 1 == body.len() => Some(&body[..at]),
                Some(_) => None,
            };
            let first_line = self.line;
            self.at += line_length;
            self.line += u64::from(line_length != body.len());
            let ends = FieldEnds::Narrow(&self.scratch.plain_ends[..fields + 1]);
            return Some(ChunkRecord { raw: line, first_line, verbatim, text: body, ends, separator: 1 });
        }
    }

    /// A record with a quote in its first line, read by csv_core from the rest of the chunk.
    fn next_quoted_record(&mut self) -> ChunkRecord<'_> {
        let RecordScratch { core, quoted_ends: ends, unquoted, .. } = &mut *self.scratch;
        core.reset();
        core.set_line(self.line);
        ends.clear();
        let first_line = self.line;
        let start = self.at;
        let mut written = 0;
        loop {
            // An empty input tells csv_core that the data has ended (the chunk's last record may
            // lack its '\n' at the end of the file).
            let input = &self.bytes[self.at..];
            let ends_before = ends.len();
            ends.resize(ends_before.max(8) * 2, 0);
            let (result, read, wrote, ended) = core.read_record(input, &mut unquoted[written..], &mut ends[ends_before..]);
            ends.truncate(ends_before + ended);
            self.at += read;
            written += wrote;
            match result {
                csv_core::ReadRecordResult::OutputFull => unquoted.resize(unquoted.len() * 2, 0),
                csv_core::ReadRecordResult::InputEmpty | csv_core::ReadRecordResult::OutputEndsFull => {}
                csv_core::ReadRecordResult::Record | csv_core::ReadRecordResult::End => break,
            }
        }
        self.line = core.line();
        ChunkRecord { raw: &self.bytes[start..self.at], first_line, verbatim: None, text: &unquoted[..written], ends: FieldEnds::Wide(ends), separator: 0 }
    }
}

/// The longest line split by `split_plain_line` (its field ends and the words' indexes past them fit
/// a `u32`); a longer one is read by csv_core. Short in tests, so that they take that way too.
const MAX_PLAIN_LINE_BYTES: usize = if cfg!(test) { 320 } else { (u32::MAX / 2) as usize };

/// Bytes looked at together by `split_plain_line`.
const WORD: usize = 8;

/// What `split_plain_line` found in a line.
struct PlainSplit {
    /// ',' bytes (the line's fields, less one).
    fields: usize,
    quotes: bool,
    carriage_returns: bool,
}

/// Writes the end of each field of a line (without its '\n') into `ends` as if it had no '"': the
/// index of each ',' then the line's length. Eight bytes at a time without a branch per byte or per
/// ',': each word's ',' bytes become an 8-bit set, whose indexes come from a table and are written
/// all eight (only those of ',' bytes are counted, the next word writes over the rest). `ends` must
/// hold `line.len() + WORD + 1` entries.
#[inline]
fn split_plain_line(line: &[u8], ends: &mut [u32]) -> PlainSplit {
    let mut fields = 0;
    let mut quotes = 0u64;
    let mut carriage_returns = 0u64;
    let mut split_word = |word: u64, start: u32| {
        let commas = bytes_equal(word, b',');
        quotes |= bytes_equal(word, b'"');
        carriage_returns |= bytes_equal(word, b'\r');
        // The high bit of byte i becomes bit i.
        let set = ((commas >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56) as usize;
        for (end, &index) in ends[fields..fields + WORD].iter_mut().zip(&COMMA_INDEXES[set]) {
            *end = start + index;
        }
        fields += usize::from(COMMA_COUNTS[set]);
    };
    let mut words = line.chunks_exact(WORD);
    let mut start = 0u32;
    for word in &mut words {
        split_word(u64::from_le_bytes(word.try_into().unwrap_or_else(|_| unreachable!("chunks of 8 bytes"))), start);
        start += WORD as u32;
    }
    let tail = words.remainder();
    if !tail.is_empty() {
        // Zero bytes after the line's end are none of the bytes looked for.
        let mut word = [0u8; WORD];
        word[..tail.len()].copy_from_slice(tail);
        split_word(u64::from_le_bytes(word), start);
    }
    ends[fields] = line.len() as u32;
    PlainSplit { fields, quotes: quotes != 0, carriage_returns: carriage_returns != 0 }
}

const LOW_SEVEN_BITS: u64 = 0x7f7f_7f7f_7f7f_7f7f;

/// The high bit of each byte of `word` equal to `byte`, and no other bit. Exact: no carry crosses
/// from one byte to the next (a byte's low seven bits plus 0x7f stay below 0x100).
#[inline]
fn bytes_equal(word: u64, byte: u8) -> u64 {
    let differences = word ^ (u64::from(byte) * 0x0101_0101_0101_0101);
    !(((differences & LOW_SEVEN_BITS) + LOW_SEVEN_BITS) | differences | LOW_SEVEN_BITS)
}

/// For each set of bytes in a word (bit i: byte i), the indexes of its bytes in order, then zeros.
static COMMA_INDEXES: [[u32; WORD]; 256] = comma_indexes();
/// For each set of bytes in a word, how many.
static COMMA_COUNTS: [u8; 256] = comma_counts();

const fn comma_indexes() -> [[u32; WORD]; 256] {
    let mut table = [[0u32; WORD]; 256];
    let mut set = 0;
    while set < 256 {
        let mut count = 0;
        let mut index = 0;
        while index < WORD {
            if set & (1 << index) != 0 {
                table[set][count] = index as u32;
                count += 1;
            }
            index += 1;
        }
        set += 1;
    }
    table
}

const fn comma_counts() -> [u8; 256] {
    let mut table = [0u8; 256];
    let mut set = 0;
    while set < 256 {
        table[set] = (set as u32).count_ones() as u8;
        set += 1;
    }
    table
}

/// Unquotes a line (without its '\n') whose fields are each plain (no '"') or quoted from their first
/// byte to a closing quote followed by ',' or the line's end: what csv_core reads from it, into
/// `fields` (one after another) and `ends`. `None` for any other line (csv_core reads those). The
/// answer is whether the line is its fields written again (`ChunkRecord::verbatim`): every quoted
/// field needs its quotes and no '\r' is anywhere (an unquoted '\r' would need quotes when written;
/// `carriage_returns` says whether the line has one, as `split_plain_line` found).
fn split_quoted_line(body: &[u8], carriage_returns: bool, fields: &mut Vec<u8>, ends: &mut Vec<usize>) -> Option<bool> {
    fields.clear();
    ends.clear();
    let mut canonical = !carriage_returns;
    let mut at = 0;
    loop {
        if body.get(at) == Some(&b'"') {
            at += 1;
            let mut needs_quotes = false;
            loop {
                let segment_length = body[at..].iter().position(|&b| b == b'"')?;
                let segment = &body[at..at + segment_length];
                needs_quotes |= segment.iter().any(|&b| b == b',' || b == b'\r');
                fields.extend_from_slice(segment);
                at += segment_length + 1;
                if body.get(at) != Some(&b'"') {
                    break;
                }
                // A doubled quote is one quote of the field.
                fields.push(b'"');
                needs_quotes = true;
                at += 1;
            }
            canonical &= needs_quotes;
            ends.push(fields.len());
            match body.get(at) {
                None => return Some(canonical),
                Some(b',') => at += 1,
                Some(_) => return None,
            }
        } else {
            let rest = &body[at..];
            // Fields are short: a loop beats memchr's set-up here.
            let length = rest.iter().position(|&b| b == b',' || b == b'"').unwrap_or(rest.len());
            if rest.get(length) == Some(&b'"') {
                return None;
            }
            fields.extend_from_slice(&rest[..length]);
            ends.push(fields.len());
            if length == rest.len() {
                return Some(canonical);
            }
            at += length + 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::score::csv_builder;
    use proptest::prelude::*;

    /// What the records of `input` are, as (first line, raw bytes, fields).
    type Records = Vec<(u64, Vec<u8>, Vec<Vec<u8>>)>;

    fn split(input: &[u8], first_line: u64) -> Records {
        let mut scratch = RecordScratch::default();
        let mut records = ChunkRecords::new(input, first_line, &mut scratch);
        let mut found = Vec::new();
        while let Some(record) = records.next_record() {
            let fields = (0..record.field_count()).map(|i| record.field(i).to_vec()).collect();
            found.push((record.first_line, record.raw.to_vec(), fields));
        }
        found
    }

    /// The csv crate's reading of the same bytes: its fields, and each record's bytes and first line
    /// (a record's bytes begin after the empty lines the reader skipped before it).
    fn csv_crate(input: &[u8], first_line: u64) -> Records {
        let mut reader = csv_builder().has_headers(false).from_reader(std::io::Cursor::new(input));
        let mut position = csv::Position::new();
        position.set_line(first_line);
        reader.seek_raw(std::io::SeekFrom::Start(0), position).unwrap();
        let mut record = csv::ByteRecord::new();
        let mut found = Vec::new();
        let mut start = 0usize;
        while reader.read_byte_record(&mut record).unwrap() {
            let end = reader.position().byte() as usize;
            let skipped = input[start..end].iter().take_while(|&&b| b == b'\n').count();
            let line = first_line + input[..start + skipped].iter().filter(|&&b| b == b'\n').count() as u64;
            found.push((line, input[start + skipped..end].to_vec(), record.iter().map(<[u8]>::to_vec).collect()));
            start = end;
        }
        found
    }

    fn check(input: &str, expect: &[(u64, &str, &[&str])]) {
        let found = split(input.as_bytes(), 1);
        let expect: Records =
            expect.iter().map(|(line, raw, fields)| (*line, raw.as_bytes().to_vec(), fields.iter().map(|f| f.as_bytes().to_vec()).collect())).collect();
        assert_eq!(found, expect, "{input:?}");
        assert_eq!(found, csv_crate(input.as_bytes(), 1), "{input:?}: as the csv crate reads it");
    }

    fn check_bytes_equal(word: [u8; 8], byte: u8) {
        let expect = word.iter().enumerate().filter(|(_, b)| **b == byte).map(|(i, _)| 0x80u64 << (8 * i)).sum::<u64>();
        assert_eq!(bytes_equal(u64::from_le_bytes(word), byte), expect, "{word:?} {byte}");
    }

    #[test]
    fn bytes_equal_marks_exactly_the_equal_bytes() {
        check_bytes_equal(*b",a,,b\x80,\x00", b',');
        check_bytes_equal([0, 1, 0x2c, 0x2d, 0x2b, 0xac, 0xff, 0x2c], b',');
        check_bytes_equal([0, 0, 0, 0, 0, 0, 0, 0], 0);
        check_bytes_equal([0xff; 8], 0xff);
        check_bytes_equal([0x7f, 0x80, 0x81, 0xfe, 0x01, 0x00, 0x7f, 0x80], 0x80);
    }

    #[test]
    fn records_of_a_chunk() {
        check("", &[]);
        check("a,b\n", &[(1, "a,b\n", &["a", "b"])]);
        check("a,b", &[(1, "a,b", &["a", "b"])]);
        check("a,,\n,\n", &[(1, "a,,\n", &["a", "", ""]), (2, ",\n", &["", ""])]);
        check("\n\na\n\nb", &[(3, "a\n", &["a"]), (5, "b", &["b"])]);
        check("a,b\r\nc\r\n", &[(1, "a,b\r\n", &["a", "b\r"]), (2, "c\r\n", &["c\r"])]);
        check("\r\n", &[(1, "\r\n", &["\r"])]);
        check("1,\"3'40\"\"\",x\n2\n", &[(1, "1,\"3'40\"\"\",x\n", &["1", "3'40\"", "x"]), (2, "2\n", &["2"])]);
        check("\"two\nlines\",b\nc\n", &[(1, "\"two\nlines\",b\n", &["two\nlines", "b"]), (3, "c\n", &["c"])]);
        check("a\"b,c\n", &[(1, "a\"b,c\n", &["a\"b", "c"])]);
        check("\"unterminated,x\ny", &[(1, "\"unterminated,x\ny", &["unterminated,x\ny"])]);
        check("\"a\"b,c\n", &[(1, "\"a\"b,c\n", &["ab", "c"])]);
        check("x\n\"q\"", &[(1, "x\n", &["x"]), (2, "\"q\"", &["q"])]);
    }

    fn check_verbatim(input: &str, expect: Option<&str>) {
        let mut scratch = RecordScratch::default();
        let mut records = ChunkRecords::new(input.as_bytes(), 1, &mut scratch);
        let record = records.next_record().unwrap();
        assert_eq!(record.verbatim, expect.map(str::as_bytes), "{input:?}");
    }

    #[test]
    fn records_written_again_as_they_are() {
        check_verbatim("a,b\n", Some("a,b"));
        check_verbatim("a,b", Some("a,b"));
        check_verbatim("a,b\r\n", Some("a,b"));
        check_verbatim("a,b\r", Some("a,b"));
        check_verbatim(",\n", Some(","));
        check_verbatim("a\rb,c\n", None);
        check_verbatim("a\r\r\n", None);
        check_verbatim("\"a\",b\n", None);
        check_verbatim("a\"b,c\n", None);
        check_verbatim("1,\"3'40\"\"\"\n", Some("1,\"3'40\"\"\""));
        check_verbatim("\"a,b\",\"\"\"\"\n", Some("\"a,b\",\"\"\"\""));
        check_verbatim("\"a\rb\",c", None);
        check_verbatim("\"a,b\",c\r\n", None);
        check_verbatim("\"\",b\n", None);
        check_verbatim("\"a,b\"\r\n", None);
    }

    /// A record's fields written again by `score`'s own field-by-field path (what it writes when a
    /// record is not verbatim).
    fn written_again(record: &ChunkRecord) -> Vec<u8> {
        let mut out = crate::score::OutputBuffer::default();
        let mut writer = out.row(2 * record.raw.len() + 3 * record.field_count());
        crate::score::write_input_part(&mut writer, record, None, record.field_count());
        writer.finish();
        out.written().to_vec()
    }

    /// A plain line longer than the scratch space first held grows it; one longer than
    /// `MAX_PLAIN_LINE_BYTES` (320 in tests) is read by csv_core, with the same fields.
    #[test]
    fn long_plain_lines_are_split_either_way() {
        for fields in [100, 140, 200] {
            let line: Vec<String> = (0..fields).map(|i| (i % 10).to_string()).collect();
            let input = format!("{}\nnext,1\n", line.join(","));
            let found = split(input.as_bytes(), 3);
            assert_eq!(found, csv_crate(input.as_bytes(), 3), "{fields} fields");
            assert_eq!(found[0].2.len(), fields);
            assert_eq!(found[1], (4, b"next,1\n".to_vec(), vec![b"next".to_vec(), b"1".to_vec()]));
        }
    }

    #[test]
    fn long_quoted_records_grow_the_scratch_space() {
        let long_field = "é,\"".repeat(300);
        let fields: Vec<String> = (0..40).map(|i| format!("f{i}")).collect();
        let input = format!("\"{}\",{}\nnext\n", long_field.replace('"', "\"\""), fields.join(","));
        assert_eq!(split(input.as_bytes(), 7), csv_crate(input.as_bytes(), 7));
        assert_eq!(split(input.as_bytes(), 7)[0].2.len(), 41);
    }

    proptest! {
        #[test]
        fn bytes_equal_on_any_word(word: [u8; 8], byte: u8, copy_at in 0usize..8) {
            let mut word = word;
            word[copy_at] = byte;
            check_bytes_equal(word, byte);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn records_are_those_of_the_csv_crate(parts in proptest::collection::vec(prop_oneof![
            Just("a"), Just("12"), Just(","), Just("\n"), Just("\""), Just("\"\""), Just("\r"), Just(" "), Just("男"), Just("\"3'40\"\"\""),
        ], 0..40), first_line in 1u64..5) {
            let input = parts.concat();
            prop_assert_eq!(split(input.as_bytes(), first_line), csv_crate(input.as_bytes(), first_line), "{:?}", input);
            let mut scratch = RecordScratch::default();
            let mut records = ChunkRecords::new(input.as_bytes(), first_line, &mut scratch);
            while let Some(record) = records.next_record() {
                if let Some(verbatim) = record.verbatim {
                    prop_assert_eq!(verbatim, &written_again(&record)[..], "{:?}", input);
                }
            }
        }
    }
}
