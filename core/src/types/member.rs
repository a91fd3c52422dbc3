//! A member of an indexed collection (a `hashtable` set, a `skiplist`
//! sorted set) as one 24-byte value: up to [`INLINE`] bytes are kept in the
//! value itself and only longer ones get an allocation of their own.
//! Redis gives every such member an sds allocation; most members are short,
//! so keeping them inline is what brings a large collection's memory to
//! Redis's or below.

use std::borrow::Borrow;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

/// The longest member kept inline.
pub const INLINE: usize = 22;

/// A byte string, inline up to [`INLINE`] bytes, boxed beyond.
#[derive(Clone)]
pub enum Member {
    /// `bytes[..len]`.
    Inline { len: u8, bytes: [u8; INLINE] },
    /// A longer member.
    Boxed(Box<[u8]>),
}

impl Member {
    /// The member's bytes as an owned vector.
    pub fn into_vec(self) -> Vec<u8> {
        match self {
            Member::Inline { len, bytes } => bytes[..usize::from(len)].to_vec(),
            Member::Boxed(b) => b.into_vec(),
        }
    }
}

impl From<&[u8]> for Member {
    fn from(m: &[u8]) -> Member {
        if m.len() <= INLINE {
            let mut bytes = [0; INLINE];
            bytes[..m.len()].copy_from_slice(m);
            Member::Inline {
                len: m.len() as u8,
                bytes,
            }
        } else {
            Member::Boxed(m.into())
        }
    }
}

impl From<Vec<u8>> for Member {
    fn from(m: Vec<u8>) -> Member {
        if m.len() <= INLINE {
            Member::from(&m[..])
        } else {
            Member::Boxed(m.into_boxed_slice())
        }
    }
}

impl Deref for Member {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Member::Inline { len, bytes } => &bytes[..usize::from(*len)],
            Member::Boxed(b) => b,
        }
    }
}

impl Borrow<[u8]> for Member {
    fn borrow(&self) -> &[u8] {
        self
    }
}

/// Hashed as its bytes, so a `&[u8]` finds it (as `Borrow` requires).
impl Hash for Member {
    fn hash<H: Hasher>(&self, h: &mut H) {
        (**self).hash(h)
    }
}

impl PartialEq for Member {
    fn eq(&self, o: &Member) -> bool {
        **self == **o
    }
}
impl Eq for Member {}

impl std::fmt::Debug for Member {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        String::from_utf8_lossy(self).fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_members_inline_long_ones_boxed_same_bytes() {
        assert_eq!(std::mem::size_of::<Member>(), 24);
        let state = crate::types::hash::fixed_state();
        for n in [0, 1, 8, INLINE, INLINE + 1, 100] {
            let bytes: Vec<u8> = (0..n as u8).collect();
            let a = Member::from(&bytes[..]);
            let b = Member::from(bytes.clone());
            assert_eq!(matches!(a, Member::Inline { .. }), n <= INLINE);
            assert_eq!(matches!(b, Member::Inline { .. }), n <= INLINE);
            assert_eq!(&*a, &bytes[..]);
            assert_eq!(a, b);
            assert_eq!(state.hash_one(&a), state.hash_one(&bytes[..]));
            assert_eq!(b.into_vec(), bytes);
        }
    }
}
