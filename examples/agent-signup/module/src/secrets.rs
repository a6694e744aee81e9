//! Secrets: random tokens and codes from the host's secure random source, SHA-256 digests
//! for storage, and constant-time comparison.

use cosmictron_sdk::ReducerContext;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Lower-case hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// SHA-256 of `secret`, hex. Used for the high-entropy tokens (keys, claim tokens): with 256
/// random bits there is nothing to brute-force, so no salt is needed and the digest can be an
/// index key.
pub(crate) fn digest(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

/// SHA-256 of `salt || code`, hex: low-entropy codes need a salt.
pub(crate) fn salted_digest(salt: &str, code: &str) -> String {
    let mut h = Sha256::new();
    h.update(salt.as_bytes());
    h.update(code.as_bytes());
    hex(&h.finalize())
}

/// Whether two digests are equal, in time independent of where they differ.
pub(crate) fn same_digest(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// `prefix` followed by 32 random bytes in hex (256 bits).
pub(crate) fn token(ctx: &ReducerContext, prefix: &str) -> String {
    format!("{prefix}{}", hex(&ctx.random_bytes(32)))
}

/// A uniformly random 6-digit code, `000000`–`999999`.
pub(crate) fn six_digit_code(ctx: &ReducerContext) -> String {
    // Rejection sampling: 2^64 is not a multiple of 10^6, and values past the last whole
    // multiple would make low codes slightly likelier.
    const RANGE: u64 = 1_000_000;
    let limit = u64::MAX - (u64::MAX % RANGE);
    loop {
        let n = ctx.random_u64();
        if n < limit {
            return format!("{:06}", n % RANGE);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_hex_sha256() {
        assert_eq!(
            digest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_ne!(salted_digest("s1", "123456"), salted_digest("s2", "123456"));
        assert!(same_digest(&digest("x"), &digest("x")));
        assert!(!same_digest(&digest("x"), &digest("y")));
    }
}
