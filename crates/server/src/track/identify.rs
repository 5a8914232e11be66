//! Who a tracking request says the visitor is: an email (`setEmail`, `visit.email`, traits) or a
//! contact token (`tl_cid`).

use tracklane_core::cid::TokenKey;
use tracklane_core::contact::ContactInput;
use tracklane_core::email::ContactEmail;
use tracklane_core::ids::{AccountId, ContactId};
use tracklane_core::time::Timestamp;
use tracklane_store::{Store, StoreError};

/// The contact with this email. When there is none, one is created only if the account allows
/// it (`create`); otherwise the email identifies nobody, as in ActiveCampaign.
pub async fn contact_for_email(
    store: &Store,
    account: AccountId,
    email: &ContactEmail,
    create: bool,
    now: Timestamp,
) -> Result<Option<ContactId>, StoreError> {
    if let Some(contact) = store.contact_id_by_email(account, email).await? {
        return Ok(Some(contact));
    }
    if !create {
        return Ok(None);
    }
    let draft = ContactInput {
        email: Some(email.as_str().to_owned()),
        ..ContactInput::default()
    }
    .into_draft()?;
    let (contact, _, _) = store.sync_contact(account, draft, now).await?;
    Ok(Some(contact.id))
}

/// The contact a token names, when it is genuine, unexpired, of this account and still there.
pub async fn contact_for_token(
    store: &Store,
    key: &TokenKey,
    account: AccountId,
    token: &str,
    now: Timestamp,
) -> Result<Option<ContactId>, StoreError> {
    let Some(subject) = key.open(token, now) else {
        return Ok(None);
    };
    if subject.account != account {
        return Ok(None);
    }
    Ok(store
        .contact(account, subject.contact)
        .await?
        .map(|contact| contact.id))
}
