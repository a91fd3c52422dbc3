//! The trace: one [`TraceEntry`] per simulator step, in a stable text form,
//! and a running hash of that text (FNV-1a, 64 bits) so two runs of one seed
//! can be compared byte for byte without keeping either trace.

use std::fmt;

/// What one step did: the simulator's own line, then the core's events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceEntry {
    /// Simulated time (ms since the start of the run).
    pub t: u64,
    /// Sequence number of the event processed.
    pub seq: u64,
    /// The simulator's description of the event.
    pub what: String,
    /// Lines reported by the nodes while processing it (`n1: PSYNC ...`).
    pub notes: Vec<String>,
}

impl fmt::Display for TraceEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:>9} #{:<7} {}", self.t, self.seq, self.what)?;
        for n in &self.notes {
            write!(f, "\n{:>9}          {n}", "")?;
        }
        Ok(())
    }
}

/// FNV-1a over the trace's text, entry by entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceHash(u64);

impl Default for TraceHash {
    fn default() -> Self {
        TraceHash(0xcbf2_9ce4_8422_2325)
    }
}

impl TraceHash {
    /// Mix one entry's text form (and a line end) into the hash (written
    /// straight into the hash, no string built).
    pub fn add(&mut self, e: &TraceEntry) {
        use std::fmt::Write;
        write!(self, "{e}").expect("hashing never fails");
        self.add_bytes(b"\n");
    }

    fn add_bytes(&mut self, b: &[u8]) {
        for &x in b {
            self.0 ^= x as u64;
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    /// The hash so far.
    pub fn value(&self) -> u64 {
        self.0
    }
}

impl fmt::Write for TraceHash {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.add_bytes(s.as_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_fnv1a_of_the_text_form() {
        let e = TraceEntry {
            t: 12,
            seq: 3,
            what: "n0 tick".into(),
            notes: vec!["n0: hello".into()],
        };
        let mut h = TraceHash::default();
        h.add(&e);
        let mut want: u64 = 0xcbf2_9ce4_8422_2325;
        for b in format!("{e}\n").bytes() {
            want = (want ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3);
        }
        assert_eq!(h.value(), want);
    }
}
