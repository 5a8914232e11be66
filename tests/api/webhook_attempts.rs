//! One delivery attempt against a real receiver on localhost: signed so that the Standard
//! Webhooks reference verifies it; 2xx delivered, 410 gone, 429 and 5xx tried again with the
//! receiver's `Retry-After`, an answer past the deadline tried again, redirects not followed,
//! other 4xx failed; receivers that may not be reached are never sent to.

use std::time::Duration;

use secrecy::SecretString;
use tracklane_core::time::Timestamp;
use tracklane_core::webhook::new_secret;
use tracklane_e2e::receiver::{Receiver, Reply};
use tracklane_server::webhooks::attempt::{Deliverer, Outcome, Outgoing, EXCERPT_BYTES};

const BODY: &str = "type=subscribe&contact%5Bid%5D=7&contact%5Bemail%5D=a%40example.com";

fn deliverer(allow_private: bool) -> Deliverer {
    Deliverer::new(allow_private, Duration::from_secs(1)).unwrap()
}

async fn attempt(deliverer: &Deliverer, url: &str, secret: &SecretString) -> Outcome {
    let outgoing = Outgoing {
        message_id: "msg_42",
        url,
        content_type: "application/x-www-form-urlencoded",
        body: BODY,
        secret,
    };
    deliverer.attempt(&outgoing, Timestamp::now()).await
}

#[tokio::test]
async fn a_delivered_attempt_is_signed_as_standard_webhooks_verify() {
    let receiver = Receiver::start().await;
    receiver.script("/in", vec![Reply::status(204).body("")]);
    let secret = new_secret().unwrap();
    let outcome = attempt(&deliverer(true), &receiver.url("/in"), &secret).await;
    assert_eq!(
        outcome,
        Outcome::Delivered {
            status: 204,
            excerpt: String::new()
        }
    );
    let received = receiver.received();
    assert_eq!(received.len(), 1);
    let request = &received[0];
    assert_eq!(request.body, BODY.as_bytes());
    assert_eq!(request.headers["webhook-id"], "msg_42");
    assert_eq!(
        request.headers["content-type"],
        "application/x-www-form-urlencoded"
    );
    let verifier =
        standardwebhooks::Webhook::new(secrecy::ExposeSecret::expose_secret(&secret)).unwrap();
    verifier.verify(&request.body, &request.headers).unwrap();
    // Another secret, or another body, does not verify.
    let other = new_secret().unwrap();
    let stranger =
        standardwebhooks::Webhook::new(secrecy::ExposeSecret::expose_secret(&other)).unwrap();
    assert!(stranger.verify(&request.body, &request.headers).is_err());
    assert!(verifier.verify(b"type=forged", &request.headers).is_err());
}

#[tokio::test]
async fn answers_are_judged_as_the_delivery_policy_says() {
    let receiver = Receiver::start().await;
    receiver.script("/gone", vec![Reply::status(410).body("unsubscribed")]);
    receiver.script("/busy", vec![Reply::status(429).header("retry-after", "7")]);
    receiver.script("/broken", vec![Reply::status(503)]);
    receiver.script("/refused", vec![Reply::status(400).body("bad payload")]);
    receiver.script(
        "/moved",
        vec![Reply::status(302).header("location", receiver.url("/in"))],
    );
    receiver.script(
        "/long",
        vec![Reply::status(200).body("x".repeat(10 * EXCERPT_BYTES))],
    );
    let secret = new_secret().unwrap();
    let deliverer = deliverer(true);
    assert_eq!(
        attempt(&deliverer, &receiver.url("/gone"), &secret).await,
        Outcome::Gone {
            excerpt: "unsubscribed".to_owned()
        }
    );
    assert_eq!(
        attempt(&deliverer, &receiver.url("/busy"), &secret).await,
        Outcome::Retry {
            status: Some(429),
            retry_after: Some(Duration::from_secs(7)),
            detail: "answered 429".to_owned()
        }
    );
    assert!(matches!(
        attempt(&deliverer, &receiver.url("/broken"), &secret).await,
        Outcome::Retry {
            status: Some(503),
            retry_after: None,
            ..
        }
    ));
    assert_eq!(
        attempt(&deliverer, &receiver.url("/refused"), &secret).await,
        Outcome::Failed {
            status: Some(400),
            detail: "bad payload".to_owned()
        }
    );
    let moved = attempt(&deliverer, &receiver.url("/moved"), &secret).await;
    assert!(
        matches!(moved, Outcome::Failed { status: Some(302), ref detail } if detail.contains("redirects")),
        "{moved:?}"
    );
    assert!(receiver
        .received()
        .iter()
        .all(|request| request.path != "/in"));
    match attempt(&deliverer, &receiver.url("/long"), &secret).await {
        Outcome::Delivered { status, excerpt } => {
            assert_eq!(status, 200);
            assert_eq!(excerpt.len(), EXCERPT_BYTES);
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_receiver_past_the_deadline_or_not_listening_is_tried_again() {
    let receiver = Receiver::start().await;
    receiver.script(
        "/slow",
        vec![Reply::status(200).after(Duration::from_secs(5))],
    );
    let secret = new_secret().unwrap();
    let deliverer = deliverer(true);
    let started = std::time::Instant::now();
    let slow = attempt(&deliverer, &receiver.url("/slow"), &secret).await;
    assert!(
        matches!(slow, Outcome::Retry { status: None, ref detail, .. } if detail.contains("in time")),
        "{slow:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(4));
    let port = receiver.port();
    drop(receiver);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let closed = attempt(&deliverer, &format!("http://127.0.0.1:{port}/in"), &secret).await;
    assert!(
        matches!(closed, Outcome::Retry { status: None, .. }),
        "{closed:?}"
    );
}

#[tokio::test]
async fn receivers_that_may_not_be_reached_are_never_sent_to() {
    let receiver = Receiver::start().await;
    let secret = new_secret().unwrap();
    let public_only = deliverer(false);
    for url in [
        receiver.url("/in"),
        format!("http://localhost:{}/in", receiver.port()),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
    ] {
        let outcome = attempt(&public_only, &url, &secret).await;
        assert!(
            matches!(outcome, Outcome::Failed { status: None, .. }),
            "{url}: {outcome:?}"
        );
    }
    let metadata = attempt(
        &deliverer(true),
        "http://169.254.169.254/latest/meta-data/",
        &secret,
    )
    .await;
    assert!(matches!(metadata, Outcome::Failed { status: None, .. }));
    assert!(receiver.received().is_empty());
    // With private receivers allowed, a name is resolved and its addresses checked.
    let by_name = attempt(
        &deliverer(true),
        &format!("http://localhost:{}/in", receiver.port()),
        &secret,
    )
    .await;
    assert!(
        matches!(by_name, Outcome::Delivered { status: 200, .. }),
        "{by_name:?}"
    );
}
