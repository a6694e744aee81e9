//! Index keys in 16 bytes: keys of up to 14 bytes (a u64 or i64 key is 9) live inline, longer
//! ones on the heap. Half the size of a `Vec`, and no allocation for the common short key —
//! this is most of an index entry's memory.

use std::cmp::Ordering;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

use cosmictron_types::KeySink;

const INLINE_MAX: usize = 14;

/// An encoded index key (see `cosmictron_types::encode_key`). Keys of at most 14 bytes are
/// always inline, so equal keys have equal representations.
#[derive(Clone)]
pub(crate) enum KeyBytes {
    Inline {
        len: u8,
        bytes: [u8; INLINE_MAX],
    },
    /// Boxed twice so the variant is one pointer wide and the whole key stays at 16 bytes.
    Heap(Box<Box<[u8]>>),
}

impl KeyBytes {
    pub(crate) const fn new() -> KeyBytes {
        KeyBytes::Inline {
            len: 0,
            bytes: [0; INLINE_MAX],
        }
    }

    pub(crate) fn from_slice(bytes: &[u8]) -> KeyBytes {
        let mut key = KeyBytes::new();
        key.extend_from_slice(bytes);
        key
    }

    #[inline]
    pub(crate) fn as_slice(&self) -> &[u8] {
        match self {
            KeyBytes::Inline { len, bytes } => &bytes[..usize::from(*len)],
            KeyBytes::Heap(bytes) => bytes,
        }
    }

    pub(crate) fn extend_from_slice(&mut self, more: &[u8]) {
        match self {
            KeyBytes::Inline { len, bytes } => {
                let start = usize::from(*len);
                let end = start + more.len();
                if end <= INLINE_MAX {
                    bytes[start..end].copy_from_slice(more);
                    *len = end as u8;
                } else {
                    let mut heap = Vec::with_capacity(end);
                    heap.extend_from_slice(&bytes[..start]);
                    heap.extend_from_slice(more);
                    *self = KeyBytes::Heap(Box::new(heap.into_boxed_slice()));
                }
            }
            KeyBytes::Heap(bytes) => {
                let mut heap = Vec::with_capacity(bytes.len() + more.len());
                heap.extend_from_slice(bytes);
                heap.extend_from_slice(more);
                **bytes = heap.into_boxed_slice();
            }
        }
    }
}

impl Default for KeyBytes {
    fn default() -> Self {
        KeyBytes::new()
    }
}

impl Deref for KeyBytes {
    type Target = [u8];

    #[inline]
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl PartialEq for KeyBytes {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for KeyBytes {}

impl PartialOrd for KeyBytes {
    #[inline]
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for KeyBytes {
    #[inline]
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            // Unused inline bytes are always zero, so the zero-padded bytes compare like the
            // keys up to the shorter length, and a tie is broken by length (a prefix sorts
            // first). One integer comparison instead of a `memcmp` call.
            (
                KeyBytes::Inline {
                    len: a_len,
                    bytes: a,
                },
                KeyBytes::Inline {
                    len: b_len,
                    bytes: b,
                },
            ) => inline_word(a).cmp(&inline_word(b)).then(a_len.cmp(b_len)),
            _ => self.as_slice().cmp(other.as_slice()),
        }
    }
}

#[inline]
fn inline_word(bytes: &[u8; INLINE_MAX]) -> u128 {
    let mut word = [0u8; 16];
    word[..INLINE_MAX].copy_from_slice(bytes);
    u128::from_be_bytes(word)
}

impl Hash for KeyBytes {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_slice().hash(state);
    }
}

impl std::fmt::Debug for KeyBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Key({:02x?})", self.as_slice())
    }
}

impl KeySink for KeyBytes {
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_16_bytes_and_order_like_their_bytes() {
        // Proves: the size that makes index entries compact, and that inline and heap keys
        // compare and grow like plain byte strings.
        assert_eq!(std::mem::size_of::<KeyBytes>(), 16);
        let samples: Vec<Vec<u8>> = vec![
            vec![],
            vec![0],
            vec![1; 14],
            vec![1; 15],
            vec![2; 3],
            vec![1; 40],
            vec![0xff; 14],
        ];
        for a in &samples {
            for b in &samples {
                let (ka, kb) = (KeyBytes::from_slice(a), KeyBytes::from_slice(b));
                assert_eq!(ka.cmp(&kb), a.cmp(b));
                assert_eq!(ka == kb, a == b);
            }
        }
        let mut grown = KeyBytes::from_slice(&[7; 10]);
        grown.extend_from_slice(&[8; 10]);
        grown.extend_from_slice(&[9; 2]);
        assert_eq!(
            grown.as_slice(),
            [[7u8; 10].as_slice(), &[8; 10], &[9; 2]].concat()
        );
    }
}
