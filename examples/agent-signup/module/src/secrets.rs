//! Secrets: random tokens and codes from the host's secure random source, SHA-256 digests
//! for storage, constant-time comparison, HMAC-SHA256, and sealing a small secret under a key
//! only its holder has (the bucket keys under the agent key).

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

/// HMAC-SHA256 (RFC 2104) of `message` under `key`.
pub(crate) fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut block = [0u8; BLOCK];
    if key.len() > BLOCK {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.map(|b| b ^ byte);
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .into()
}

/// Unpadded base64url (RFC 4648 §5), as JWTs use it.
pub(crate) fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] =
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
        }
    }
    out
}

/// The key stream of [`seal`]: SHA-256(key ‖ nonce ‖ counter) blocks, a PRF in counter mode.
fn key_stream(key: &[u8], nonce: &[u8], len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 32);
    let mut counter = 0u64;
    while out.len() < len {
        out.extend_from_slice(
            &Sha256::new()
                .chain_update(key)
                .chain_update(nonce)
                .chain_update(counter.to_le_bytes())
                .finalize(),
        );
        counter += 1;
    }
    out.truncate(len);
    out
}

/// Encrypts `plain` under a key derived from `secret` (hex of a fresh 16-byte nonce, then of
/// the ciphertext, then of a 32-byte HMAC tag): stored this way, a value can be shown again to
/// whoever presents `secret`, and to nobody else.
pub(crate) fn seal(ctx: &ReducerContext, secret: &str, plain: &str) -> String {
    let key = Sha256::digest(format!("seal:{secret}").as_bytes());
    let nonce = ctx.random_bytes(16);
    let cipher: Vec<u8> = plain
        .bytes()
        .zip(key_stream(&key, &nonce, plain.len()))
        .map(|(p, k)| p ^ k)
        .collect();
    let tag = hmac_sha256(&key, &[nonce.as_slice(), &cipher].concat());
    format!("{}{}{}", hex(&nonce), hex(&cipher), hex(&tag))
}

/// Decrypts what [`seal`] made with the same `secret`; `None` when it was sealed under another
/// secret or altered.
pub(crate) fn open(secret: &str, sealed: &str) -> Option<String> {
    let bytes = unhex(sealed)?;
    if bytes.len() < 48 {
        return None;
    }
    let (nonce, rest) = bytes.split_at(16);
    let (cipher, tag) = rest.split_at(rest.len() - 32);
    let key = Sha256::digest(format!("seal:{secret}").as_bytes());
    let expected = hmac_sha256(&key, &[nonce, cipher].concat());
    if !bool::from(expected.ct_eq(tag)) {
        return None;
    }
    let plain: Vec<u8> = cipher
        .iter()
        .zip(key_stream(&key, nonce, cipher.len()))
        .map(|(c, k)| c ^ k)
        .collect();
    String::from_utf8(plain).ok()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
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

    #[test]
    fn hmac_and_base64url_match_their_rfcs() {
        // RFC 4231 test case 2.
        assert_eq!(
            hex(&hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(base64url(b"f"), "Zg");
        assert_eq!(base64url(b"fo"), "Zm8");
        assert_eq!(base64url(b"foo"), "Zm9v");
        assert_eq!(base64url(&[0xfb, 0xff]), "-_8");
    }
}
