//! The replication backlog: the last `repl-backlog-size` bytes of the
//! replication stream, addressed by absolute stream offsets.
//!
//! Redis's rules kept here (spec §4.1–4.2):
//! * created with `histlen = 0` and first byte `master_repl_offset + 1`;
//! * every appended byte advances `master_repl_offset` and `histlen`;
//! * `first_byte_offset + histlen == master_repl_offset + 1` always;
//! * the size is at least 16 KB (`CONFIG SET repl-backlog-size 1` gives 16384);
//! * a PSYNC may continue from any offset in `[first_byte, master_repl_offset + 1]`.
//!
//! Redis trims whole 16 KB blocks, so its `histlen` may exceed the size by up
//! to one block; Tandem keeps exactly the last `size` bytes (a ring), so its
//! `repl_backlog_histlen` never exceeds `repl_backlog_size`. Both accept the
//! same PSYNC requests as far as the bytes they hold allow.

/// Smallest backlog Redis accepts (`CONFIG_REPL_BACKLOG_MIN_SIZE`).
pub const MIN_BACKLOG_SIZE: usize = 16 * 1024;

/// A ring of the most recent stream bytes.
#[derive(Debug, Clone)]
pub struct Backlog {
    buf: Vec<u8>,
    /// Index in `buf` of the oldest byte held.
    head: usize,
    /// Bytes held.
    histlen: usize,
    /// Absolute offset of the last byte appended (`master_repl_offset`).
    end_offset: i64,
    size: usize,
}

impl Backlog {
    /// An empty backlog whose next byte will be `master_repl_offset + 1`.
    pub fn new(size: usize, master_repl_offset: i64) -> Self {
        let size = size.max(MIN_BACKLOG_SIZE);
        Backlog {
            buf: Vec::new(),
            head: 0,
            histlen: 0,
            end_offset: master_repl_offset,
            size,
        }
    }

    /// Configured size (`repl_backlog_size`).
    pub fn size(&self) -> usize {
        self.size
    }

    /// Bytes held (`repl_backlog_histlen`).
    pub fn histlen(&self) -> usize {
        self.histlen
    }

    /// Offset of the oldest byte held (`repl_backlog_first_byte_offset`).
    pub fn first_byte_offset(&self) -> i64 {
        self.end_offset - self.histlen as i64 + 1
    }

    /// Offset of the last byte appended (`master_repl_offset`).
    pub fn end_offset(&self) -> i64 {
        self.end_offset
    }

    /// Whether a replica may continue from `offset` (its first missing byte).
    pub fn covers(&self, offset: i64) -> bool {
        offset >= self.first_byte_offset() && offset <= self.end_offset + 1
    }

    /// Append stream bytes, dropping the oldest beyond the size.
    pub fn append(&mut self, data: &[u8]) {
        self.end_offset += data.len() as i64;
        if self.buf.len() < self.size {
            // Grow lazily up to the size (the ring is linear until then).
            let room = self.size - self.buf.len();
            if data.len() <= room && self.head == 0 {
                self.buf.extend_from_slice(data);
                self.histlen += data.len();
                return;
            }
            self.buf.resize(self.size, 0);
        }
        let data = if data.len() > self.size {
            &data[data.len() - self.size..]
        } else {
            data
        };
        let tail = (self.head + self.histlen) % self.size;
        let first = data.len().min(self.size - tail);
        self.buf[tail..tail + first].copy_from_slice(&data[..first]);
        self.buf[..data.len() - first].copy_from_slice(&data[first..]);
        let total = self.histlen + data.len();
        if total > self.size {
            self.head = (self.head + total - self.size) % self.size;
            self.histlen = self.size;
        } else {
            self.histlen = total;
        }
    }

    /// The bytes from `offset` to the end (what `+CONTINUE` sends), or `None`
    /// if `offset` is not covered.
    pub fn read_from(&self, offset: i64) -> Option<Vec<u8>> {
        if !self.covers(offset) {
            return None;
        }
        let skip = (offset - self.first_byte_offset()) as usize;
        let len = self.histlen - skip;
        let mut out = Vec::with_capacity(len);
        if self.buf.is_empty() {
            return Some(out);
        }
        let cap = self.buf.len();
        let start = (self.head + skip) % cap;
        let first = len.min(cap - start);
        out.extend_from_slice(&self.buf[start..start + first]);
        out.extend_from_slice(&self.buf[..len - first]);
        Some(out)
    }

    /// `CONFIG SET repl-backlog-size`: keep the newest bytes that fit.
    pub fn resize(&mut self, size: usize) {
        let size = size.max(MIN_BACKLOG_SIZE);
        let keep = self.histlen.min(size);
        let data = self
            .read_from(self.end_offset + 1 - keep as i64)
            .unwrap_or_default();
        let end = self.end_offset;
        *self = Backlog::new(size, end - keep as i64);
        self.append(&data);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn arithmetic_matches_redis_invariants() {
        let mut b = Backlog::new(1, 0);
        assert_eq!(b.size(), MIN_BACKLOG_SIZE);
        assert_eq!(b.first_byte_offset(), 1);
        assert!(b.covers(1));
        assert_eq!(b.read_from(1), Some(vec![]));
        b.append(&[7u8; 246]);
        assert_eq!(
            (b.first_byte_offset(), b.histlen(), b.end_offset()),
            (1, 246, 246)
        );
        assert_eq!(b.read_from(247), Some(vec![]));
        assert_eq!(b.read_from(246), Some(vec![7]));
        assert!(!b.covers(248));
        assert!(!b.covers(0));
    }

    #[test]
    fn oldest_bytes_fall_out() {
        let mut b = Backlog::new(MIN_BACKLOG_SIZE, 100);
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        for chunk in data.chunks(777) {
            b.append(chunk);
        }
        assert_eq!(b.end_offset(), 200_100);
        assert_eq!(b.histlen(), MIN_BACKLOG_SIZE);
        let first = b.first_byte_offset();
        assert_eq!(first, 200_100 - MIN_BACKLOG_SIZE as i64 + 1);
        assert!(b.covers(first));
        assert!(!b.covers(first - 1));
        let got = b.read_from(first).unwrap();
        assert_eq!(got[..], data[data.len() - MIN_BACKLOG_SIZE..]);
    }

    proptest! {
        #[test]
        fn ring_equals_tail_of_stream(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..5000), 0..40), resize_to in 0usize..40000) {
            let mut b = Backlog::new(MIN_BACKLOG_SIZE, 0);
            let mut stream = Vec::new();
            for c in &chunks {
                b.append(c);
                stream.extend_from_slice(c);
            }
            let held = b.histlen();
            prop_assert_eq!(held, stream.len().min(MIN_BACKLOG_SIZE));
            prop_assert_eq!(b.read_from(b.first_byte_offset()).unwrap(), stream[stream.len() - held..].to_vec());
            b.resize(resize_to);
            let held = b.histlen();
            prop_assert!(held <= b.size());
            prop_assert_eq!(b.end_offset(), stream.len() as i64);
            prop_assert_eq!(b.read_from(b.first_byte_offset()).unwrap(), stream[stream.len() - held..].to_vec());
        }
    }
}
