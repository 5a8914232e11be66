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

use crate::ids::{AccountId, CampaignId, ContactId};
use crate::time::Timestamp;

/// The query parameter that carries a contact token on a tracked link's landing page.
pub const TOKEN_PARAM: &str = "tl_cid";

const PURPOSE: &[u8] = b"tracklane contact token v1";
const LINK_PURPOSE: &[u8] = b"tracklane link token v1";
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
        self.seal_numbers(
            PURPOSE,
            &[subject.account.0, subject.contact.0, expires_at.0],
        )
    }

    /// Who the token names, when it is genuine and not expired at `now`.
    pub fn open(&self, token: &str, now: Timestamp) -> Option<TokenSubject> {
        let [account, contact, expires_at] = self.open_numbers::<3>(PURPOSE, token)?;
        (now.0 < expires_at).then_some(TokenSubject {
            account: AccountId(account),
            contact: ContactId(contact),
        })
    }

    /// A token for one tracked link (or the open pixel, or the unsubscribe link) of one
    /// campaign sent to one contact. It does not expire: links in old mail keep working.
    pub fn seal_link(&self, link: LinkSubject) -> Result<String, getrandom::Error> {
        self.seal_numbers(
            LINK_PURPOSE,
            &[link.account.0, link.contact.0, link.campaign.0, link.target],
        )
    }

    /// The link a token names, when it is genuine.
    pub fn open_link(&self, token: &str) -> Option<LinkSubject> {
        let [account, contact, campaign, target] = self.open_numbers::<4>(LINK_PURPOSE, token)?;
        Some(LinkSubject {
            account: AccountId(account),
            contact: ContactId(contact),
            campaign: CampaignId(campaign),
            target,
        })
    }

    fn seal_numbers(&self, purpose: &[u8], numbers: &[i64]) -> Result<String, getrandom::Error> {
        let mut nonce = [0u8; NONCE_BYTES];
        getrandom::fill(&mut nonce)?;
        let plain: Vec<u8> = numbers.iter().flat_map(|n| n.to_be_bytes()).collect();
        let sealed = XChaCha20Poly1305::new(&self.0)
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: &plain,
                    aad: purpose,
                },
            )
            .unwrap_or_default();
        let mut token = nonce.to_vec();
        token.extend_from_slice(&sealed);
        Ok(URL_SAFE_NO_PAD.encode(token))
    }

    fn open_numbers<const N: usize>(&self, purpose: &[u8], token: &str) -> Option<[i64; N]> {
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
                    aad: purpose,
                },
            )
            .ok()?;
        if plain.len() != N * 8 {
            return None;
        }
        let mut numbers = [0i64; N];
        for (number, chunk) in numbers.iter_mut().zip(plain.chunks_exact(8)) {
            *number = i64::from_be_bytes(chunk.try_into().ok()?);
        }
        Some(numbers)
    }
}

/// What a link token names: a campaign's link (its position, or [`OPEN_PIXEL`],
/// [`UNSUBSCRIBE`] or [`TRAP_LINK`]) as sent to one contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkSubject {
    /// The account.
    pub account: AccountId,
    /// The recipient.
    pub contact: ContactId,
    /// The campaign.
    pub campaign: CampaignId,
    /// The link's position in the message, or a special target.
    pub target: i64,
}

/// The target of the open pixel's token.
pub const OPEN_PIXEL: i64 = -1;
/// The target of the unsubscribe link's token.
pub const UNSUBSCRIBE: i64 = -2;
/// The target of the hidden trap link's token (see [`crate::scanner`]).
pub const TRAP_LINK: i64 = -3;

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
    fn link_tokens_round_trip_and_are_not_contact_tokens() {
        let key = key();
        let link = LinkSubject {
            account: AccountId(3),
            contact: ContactId(42),
            campaign: CampaignId(7),
            target: OPEN_PIXEL,
        };
        let token = key.seal_link(link).unwrap();
        assert_eq!(key.open_link(&token), Some(link));
        assert_eq!(
            key.open(&token, Timestamp(0)),
            None,
            "a link token is no contact token"
        );
        let contact_token = key.seal(SUBJECT, Timestamp(i64::MAX)).unwrap();
        assert_eq!(key.open_link(&contact_token), None);
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
