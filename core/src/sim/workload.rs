//! Simulated clients' workload, pluggable: a [`Workload`] hands each client
//! its next batch of commands (sent pipelined; the client waits for every
//! reply before asking for the next batch). [`Strings`] covers strings,
//! counters, expiry, MULTI/EXEC and WAIT; [`Types`] lists, hashes, sets and
//! sorted sets; [`Mix`] combines workloads by weight ([`standard`] is the
//! swarm's).
//!
//! A WAIT always follows `SET wait:<n> <value>` on a key written only
//! once: the simulator recognises that pair and the checker holds the
//! WAIT's answer against the replicas (S7).

use crate::rng::Rng;

/// One command: its arguments.
pub type Command = Vec<Vec<u8>>;

/// A source of client commands.
pub trait Workload {
    /// The next batch for a client; `writer` says whether it talks to the
    /// master (writes allowed) or to a replica (reads only).
    fn next_batch(&mut self, rng: &mut Rng, writer: bool) -> Vec<Command>;
}

fn cmd(parts: &[&[u8]]) -> Command {
    parts.iter().map(|p| p.to_vec()).collect()
}

/// Strings, counters, expiry, MULTI/EXEC, WAIT over a small key space.
#[derive(Debug, Clone)]
pub struct Strings {
    /// Number of distinct keys.
    pub keys: u64,
    /// Largest value length.
    pub max_value: usize,
    /// Keys `wait:<n>` written so far.
    pub waits: u64,
}

impl Default for Strings {
    fn default() -> Self {
        Strings {
            keys: 24,
            max_value: 200,
            waits: 0,
        }
    }
}

impl Strings {
    fn key(&self, rng: &mut Rng) -> Vec<u8> {
        format!("k{}", rng.below(self.keys)).into_bytes()
    }

    fn value(&self, rng: &mut Rng) -> Vec<u8> {
        let len = if rng.below(40) == 0 {
            // Now and then a big value, so streams outgrow small backlogs.
            10 * self.max_value
        } else if rng.below(20) == 0 {
            self.max_value
        } else {
            1 + rng.below(16) as usize
        };
        let c = b'a' + rng.below(26) as u8;
        vec![c; len]
    }

    fn write(&self, rng: &mut Rng) -> Command {
        let k = self.key(rng);
        match rng.below(10) {
            0..=2 => cmd(&[b"SET", &k, &self.value(rng)]),
            3 => {
                let ms = (50 + rng.below(3000)).to_string();
                cmd(&[b"SET", &k, &self.value(rng), b"PX", ms.as_bytes()])
            }
            4 | 5 => cmd(&[b"INCR", format!("n{}", rng.below(4)).as_bytes()]),
            6 => cmd(&[b"DEL", &k]),
            7 => {
                let s = (1 + rng.below(3)).to_string();
                cmd(&[b"EXPIRE", &k, s.as_bytes()])
            }
            8 => cmd(&[b"APPEND", &k, &self.value(rng)]),
            _ => cmd(&[b"GETSET", &k, &self.value(rng)]),
        }
    }

    fn read(&self, rng: &mut Rng) -> Command {
        let k = self.key(rng);
        match rng.below(3) {
            0 => cmd(&[b"GET", &k]),
            1 => cmd(&[b"EXISTS", &k]),
            _ => cmd(&[b"PTTL", &k]),
        }
    }
}

impl Workload for Strings {
    fn next_batch(&mut self, rng: &mut Rng, writer: bool) -> Vec<Command> {
        if !writer {
            return vec![self.read(rng)];
        }
        match rng.below(20) {
            0 => {
                let mut b = vec![cmd(&[b"MULTI"])];
                for _ in 0..1 + rng.below(3) {
                    b.push(self.write(rng));
                }
                b.push(cmd(&[b"EXEC"]));
                b
            }
            1 => {
                self.waits += 1;
                let key = format!("wait:{}", self.waits);
                let wanted = (1 + rng.below(2)).to_string();
                vec![
                    cmd(&[b"SET", key.as_bytes(), &self.value(rng)]),
                    cmd(&[b"WAIT", wanted.as_bytes(), b"50"]),
                ]
            }
            2..=4 => vec![self.read(rng)],
            _ => vec![self.write(rng)],
        }
    }
}

/// Lists, hashes, sets and sorted sets (with the commands whose
/// propagation Redis rewrites: SPOP, LMOVE, ZPOPMIN, the *STORE forms,
/// INCRBYFLOAT-style updates, BLPOP), expiry and RENAME, over a small key
/// space per type.
#[derive(Debug, Clone)]
pub struct Types {
    /// Distinct keys per type.
    pub keys: u64,
}

impl Default for Types {
    fn default() -> Self {
        Types { keys: 6 }
    }
}

impl Types {
    fn key(&self, rng: &mut Rng, ty: &str) -> Vec<u8> {
        format!("{ty}{}", rng.below(self.keys)).into_bytes()
    }

    fn member(rng: &mut Rng) -> Vec<u8> {
        format!("m{}", rng.below(12)).into_bytes()
    }

    fn write(&self, rng: &mut Rng) -> Command {
        let m = Self::member(rng);
        let n = rng.below(5).to_string();
        match rng.below(26) {
            0 => cmd(&[b"LPUSH", &self.key(rng, "l"), &m, &Self::member(rng)]),
            1 => cmd(&[b"RPUSH", &self.key(rng, "l"), &m]),
            2 => cmd(&[b"LPOP", &self.key(rng, "l")]),
            3 => cmd(&[b"RPOP", &self.key(rng, "l"), n.as_bytes()]),
            4 => cmd(&[
                b"LMOVE",
                &self.key(rng, "l"),
                &self.key(rng, "l"),
                b"LEFT",
                b"RIGHT",
            ]),
            5 => cmd(&[b"LTRIM", &self.key(rng, "l"), b"0", n.as_bytes()]),
            6 => cmd(&[b"LREM", &self.key(rng, "l"), b"0", &m]),
            7 => cmd(&[b"HSET", &self.key(rng, "h"), &m, n.as_bytes()]),
            8 => cmd(&[b"HDEL", &self.key(rng, "h"), &m]),
            9 => cmd(&[b"HINCRBY", &self.key(rng, "h"), &m, n.as_bytes()]),
            10 => cmd(&[b"HINCRBYFLOAT", &self.key(rng, "h"), &m, b"0.5"]),
            11 => cmd(&[b"SADD", &self.key(rng, "s"), &m, &Self::member(rng)]),
            12 => cmd(&[b"SREM", &self.key(rng, "s"), &m]),
            13 => cmd(&[b"SPOP", &self.key(rng, "s")]),
            14 => cmd(&[b"SMOVE", &self.key(rng, "s"), &self.key(rng, "s"), &m]),
            15 => cmd(&[
                b"SINTERSTORE",
                &self.key(rng, "s"),
                &self.key(rng, "s"),
                &self.key(rng, "s"),
            ]),
            16 => cmd(&[b"ZADD", &self.key(rng, "z"), n.as_bytes(), &m]),
            17 => cmd(&[b"ZINCRBY", &self.key(rng, "z"), b"1.5", &m]),
            18 => cmd(&[b"ZREM", &self.key(rng, "z"), &m]),
            19 => cmd(&[b"ZPOPMIN", &self.key(rng, "z")]),
            20 => cmd(&[b"ZREMRANGEBYSCORE", &self.key(rng, "z"), b"0", b"1"]),
            21 => cmd(&[
                b"ZUNIONSTORE",
                &self.key(rng, "z"),
                b"2",
                &self.key(rng, "z"),
                &self.key(rng, "z"),
            ]),
            22 => {
                let ty = ["l", "h", "s", "z"][rng.below(4) as usize];
                let s = (1 + rng.below(3)).to_string();
                cmd(&[b"EXPIRE", &self.key(rng, ty), s.as_bytes()])
            }
            23 => {
                let ty = ["l", "h", "s", "z"][rng.below(4) as usize];
                cmd(&[b"RENAME", &self.key(rng, ty), &self.key(rng, ty)])
            }
            24 => cmd(&[b"BLPOP", &self.key(rng, "l"), b"0.05"]),
            _ => {
                let ty = ["l", "h", "s", "z"][rng.below(4) as usize];
                cmd(&[b"DEL", &self.key(rng, ty)])
            }
        }
    }

    fn read(&self, rng: &mut Rng) -> Command {
        match rng.below(5) {
            0 => cmd(&[b"LRANGE", &self.key(rng, "l"), b"0", b"-1"]),
            1 => cmd(&[b"HGETALL", &self.key(rng, "h")]),
            2 => cmd(&[b"SMEMBERS", &self.key(rng, "s")]),
            3 => cmd(&[b"ZRANGE", &self.key(rng, "z"), b"0", b"-1", b"WITHSCORES"]),
            _ => cmd(&[b"LLEN", &self.key(rng, "l")]),
        }
    }
}

impl Workload for Types {
    fn next_batch(&mut self, rng: &mut Rng, writer: bool) -> Vec<Command> {
        if !writer {
            return vec![self.read(rng)];
        }
        match rng.below(12) {
            0 => {
                let mut b = vec![cmd(&[b"MULTI"])];
                for _ in 0..1 + rng.below(3) {
                    b.push(self.write(rng));
                }
                b.push(cmd(&[b"EXEC"]));
                b
            }
            1 | 2 => vec![self.read(rng)],
            _ => vec![self.write(rng)],
        }
    }
}

/// Several workloads, each chosen with a weight.
pub struct Mix(pub Vec<(u64, Box<dyn Workload>)>);

impl Workload for Mix {
    fn next_batch(&mut self, rng: &mut Rng, writer: bool) -> Vec<Command> {
        let total: u64 = self.0.iter().map(|(w, _)| *w).sum();
        let mut pick = rng.below(total.max(1));
        for (w, wl) in self.0.iter_mut() {
            if pick < *w {
                return wl.next_batch(rng, writer);
            }
            pick -= *w;
        }
        Vec::new()
    }
}

/// The swarm's workload: strings (with WAIT) and the other data types.
pub fn standard() -> Box<dyn Workload> {
    Box::new(Mix(vec![
        (3, Box::new(Strings::default())),
        (2, Box::new(Types::default())),
    ]))
}

/// Length of the first complete RESP2 reply in `buf`, if there is one.
pub fn reply_len(buf: &[u8]) -> Option<usize> {
    fn line(buf: &[u8], at: usize) -> Option<(usize, &[u8])> {
        let rel = buf.get(at..)?.windows(2).position(|w| w == b"\r\n")?;
        Some((at + rel + 2, &buf[at + 1..at + rel]))
    }
    fn frame(buf: &[u8], at: usize) -> Option<usize> {
        let kind = *buf.get(at)?;
        let (next, body) = line(buf, at)?;
        match kind {
            b'+' | b'-' | b':' => Some(next),
            b'$' => {
                let n: i64 = std::str::from_utf8(body).ok()?.parse().ok()?;
                if n < 0 {
                    return Some(next);
                }
                let end = next + n as usize + 2;
                (buf.len() >= end).then_some(end)
            }
            b'*' => {
                let n: i64 = std::str::from_utf8(body).ok()?.parse().ok()?;
                let mut at = next;
                for _ in 0..n.max(0) {
                    at = frame(buf, at)?;
                }
                Some(at)
            }
            _ => Some(next),
        }
    }
    frame(buf, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_frames() {
        assert_eq!(reply_len(b"+OK\r\n:1"), Some(5));
        assert_eq!(reply_len(b"$3\r\nab"), None);
        assert_eq!(reply_len(b"$-1\r\n"), Some(5));
        assert_eq!(reply_len(b"*2\r\n$1\r\na\r\n:5\r\n+"), Some(15));
        assert_eq!(reply_len(b"*2\r\n$1\r\na\r\n"), None);
    }
}
