//! The contact token (`tl_cid`): an encrypted, tamper-proof, expiring reference to one contact of
//! one account, carried on the landing URL of a tracked email link so that the snippet can
//! identify the visitor.
//!
//! The token is XChaCha20-Poly1305 (RustCrypto's `chacha20poly1305`) under a key per
//! installation, with a random 24-byte nonce: `base64url(nonce || ciphertext || tag)` of the
//! 24-byte plaintext `account || contact || expiry` (big-endian i64s). Associated data binds the
//! token to its purpose. A forged, altered, expired or foreign token decrypts to nothing.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

use crate::ids::{AccountId, ContactId};
use crate::time::Timestamp;

const PURPOSE: &[u8] = b"tracklane contact token v1";
const NONCE_BYTES: usize = 24;

/// The installation's secret for contact tokens. Never printed.
#[derive(Clone)]
pub struct TokenKey(chacha20poly1305::Key);

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey(..)")
    }
}

/// Who a valid token names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenSubject {
    /// The account.
    pub account: AccountId,
    /// The contact.
    pub contact: ContactId,
}

impl TokenKey {
    /// A key from its 64 hex characters, as stored.
    pub fn from_hex(hex_key: &str) -> Option<Self> {
        let bytes: [u8; 32] = hex::decode(hex_key).ok()?.try_into().ok()?;
        Some(Self(bytes.into()))
    }

    /// A new random key, in hex, to store.
    pub fn generate_hex() -> Result<String, getrandom::Error> {
        crate::key::random_hex(32)
    }

    /// A token naming `subject` until `expires_at`.
    pub fn seal(
        &self,
        subject: TokenSubject,
        expires_at: Timestamp,
    ) -> Result<String, getrandom::Error> {
        let mut nonce = [0u8; NONCE_BYTES];
        getrandom::fill(&mut nonce)?;
        let mut plain = Vec::with_capacity(24);
        plain.extend_from_slice(&subject.account.0.to_be_bytes());
        plain.extend_from_slice(&subject.contact.0.to_be_bytes());
        plain.extend_from_slice(&expires_at.0.to_be_bytes());
        let sealed = XChaCha20Poly1305::new(&self.0)
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: &plain,
                    aad: PURPOSE,
                },
            )
            .unwrap_or_default();
        let mut token = nonce.to_vec();
        token.extend_from_slice(&sealed);
        Ok(URL_SAFE_NO_PAD.encode(token))
    }

    /// Who the token names, when it is genuine and not expired at `now`.
    pub fn open(&self, token: &str, now: Timestamp) -> Option<TokenSubject> {
        let bytes = URL_SAFE_NO_PAD.decode(token.trim()).ok()?;
        if bytes.len() <= NONCE_BYTES {
            return None;
        }
        let (nonce, sealed) = bytes.split_at(NONCE_BYTES);
        let plain = XChaCha20Poly1305::new(&self.0)
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: PURPOSE,
                },
            )
            .ok()?;
        let number = |i: usize| -> Option<i64> {
            Some(i64::from_be_bytes(
                plain.get(i * 8..i * 8 + 8)?.try_into().ok()?,
            ))
        };
        let expires_at = Timestamp(number(2)?);
        (now < expires_at).then_some(TokenSubject {
            account: AccountId(number(0)?),
            contact: ContactId(number(1)?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key() -> TokenKey {
        TokenKey::from_hex(&TokenKey::generate_hex().unwrap()).unwrap()
    }

    const SUBJECT: TokenSubject = TokenSubject {
        account: AccountId(3),
        contact: ContactId(42),
    };

    #[test]
    fn a_sealed_token_opens_until_it_expires() {
        let key = key();
        let token = key.seal(SUBJECT, Timestamp(2_000)).unwrap();
        assert_eq!(key.open(&token, Timestamp(1_999)), Some(SUBJECT));
        assert_eq!(key.open(&token, Timestamp(2_000)), None);
        assert_ne!(
            token,
            key.seal(SUBJECT, Timestamp(2_000)).unwrap(),
            "nonces differ"
        );
    }

    #[test]
    fn another_installations_key_opens_nothing() {
        let token = key().seal(SUBJECT, Timestamp(2_000)).unwrap();
        assert_eq!(key().open(&token, Timestamp(0)), None);
        assert!(!format!("{:?}", key()).contains(|c: char| c.is_ascii_digit()));
    }

    #[test]
    fn garbage_opens_nothing() {
        let key = key();
        for junk in ["", "abc", "!!!!", &"A".repeat(200)] {
            assert_eq!(key.open(junk, Timestamp(0)), None);
        }
    }

    proptest! {
        #[test]
        fn any_altered_byte_breaks_the_token(position in 0usize..64, flip in 1u8..=255) {
            let key = key();
            let token = key.seal(SUBJECT, Timestamp(i64::MAX)).unwrap();
            let mut bytes = URL_SAFE_NO_PAD.decode(&token).unwrap();
            let position = position % bytes.len();
            bytes[position] ^= flip;
            let altered = URL_SAFE_NO_PAD.encode(bytes);
            prop_assert_eq!(key.open(&altered, Timestamp(0)), None);
        }
    }
}
