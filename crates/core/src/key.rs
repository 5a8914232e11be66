//! API keys and event keys. A key is 32 random bytes from the operating system, written as 64 hex
//! characters; only its SHA-256 hash is stored, so a lost key is replaced, never shown again.
//! A key is high-entropy, so a plain cryptographic hash is the right stored form (no password
//! stretching needed) and it can be looked up by that hash.

use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

/// Makes a fresh key. Fails only when the operating system has no randomness to give.
pub fn new_key() -> Result<SecretString, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(SecretString::from(hex::encode(bytes)))
}

/// The stored form of a key: its SHA-256, in hex.
pub fn key_hash(key: &SecretString) -> String {
    hex::encode(Sha256::digest(key.expose_secret().as_bytes()))
}

/// Random hex text of `bytes` bytes, for non-secret unique values (a contact's `hash`).
pub fn random_hex(bytes: usize) -> Result<String, getrandom::Error> {
    let mut buffer = vec![0u8; bytes];
    getrandom::fill(&mut buffer)?;
    Ok(hex::encode(buffer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_and_hash_stably() {
        let first = new_key().unwrap();
        let second = new_key().unwrap();
        assert_eq!(first.expose_secret().len(), 64);
        assert_ne!(first.expose_secret(), second.expose_secret());
        assert_eq!(key_hash(&first), key_hash(&first));
        assert_ne!(key_hash(&first), key_hash(&second));
        assert!(!format!("{first:?}").contains(first.expose_secret()));
    }
}
