//! The mailer against the outbox folder and against a real SMTP conversation with a small sink
//! written here, so the tests need nothing installed.

use std::net::SocketAddr;

use secrecy::SecretString;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use super::*;
use crate::config::SettingsLayer;

fn envelope(to: &str) -> Envelope {
    Envelope {
        from_name: "Tracklane".to_owned(),
        from_address: "news@example.com".to_owned(),
        reply_to: None,
        to: to.to_owned(),
        subject: "Spring sale".to_owned(),
        html: "<p>Hello</p>".to_owned(),
        text: "Hello".to_owned(),
        list_unsubscribe: Some("https://t.example/u/tok".to_owned()),
        message_id: None,
    }
}

/// An SMTP server just capable enough: it accepts every sender and recipient except those
/// containing `bounce` (550 5.1.1), `busy` (451) or `locked` (530), answers the end of a
/// message to a recipient containing `garbled` with 500, and hands each message's raw text
/// (after `DATA`) to the returned channel.
async fn smtp_sink() -> (SocketAddr, mpsc::UnboundedReceiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (received, messages) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(smtp_session(stream, received.clone()));
        }
    });
    (address, messages)
}

/// One SMTP conversation, until `QUIT` or a closed connection.
async fn smtp_session(stream: TcpStream, received: mpsc::UnboundedSender<String>) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    let _ = write.write_all(b"220 sink ESMTP\r\n").await;
    let mut line = String::new();
    let mut refuse_data = false;
    loop {
        line.clear();
        if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
            return;
        }
        let command = line.to_ascii_uppercase();
        let answer = if command.starts_with("EHLO") || command.starts_with("HELO") {
            "250 sink\r\n"
        } else if command.starts_with("RCPT") && command.contains("BOUNCE") {
            "550 5.1.1 no such user\r\n"
        } else if command.starts_with("RCPT") && command.contains("BUSY") {
            "451 4.3.0 try again later\r\n"
        } else if command.starts_with("RCPT") && command.contains("LOCKED") {
            "530 5.7.0 authentication required\r\n"
        } else if command.starts_with("RCPT") && command.contains("GARBLED") {
            refuse_data = true;
            "250 ok\r\n"
        } else if command.starts_with("DATA") {
            let _ = write.write_all(b"354 go ahead\r\n").await;
            let mut message = String::new();
            loop {
                line.clear();
                if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
                    return;
                }
                if line == ".\r\n" {
                    break;
                }
                message.push_str(line.strip_prefix('.').unwrap_or(&line));
            }
            if refuse_data {
                "500 syntax error, command unrecognized\r\n"
            } else {
                let _ = received.send(message);
                "250 2.0.0 queued\r\n"
            }
        } else if command.starts_with("QUIT") {
            let _ = write.write_all(b"221 bye\r\n").await;
            return;
        } else if ["MAIL", "RCPT", "RSET", "NOOP"]
            .iter()
            .any(|verb| command.starts_with(verb))
        {
            "250 ok\r\n"
        } else {
            "500 unknown command\r\n"
        };
        if write.write_all(answer.as_bytes()).await.is_err() {
            return;
        }
    }
}

fn smtp_mailer(address: SocketAddr) -> Mailer {
    Mailer::smtp(&SecretString::from(format!("smtp://{address}")), 0).unwrap()
}

#[tokio::test]
async fn smtp_delivers_the_message_with_its_headers() {
    let (address, mut messages) = smtp_sink().await;
    let mailer = smtp_mailer(address);
    mailer
        .send_envelope(&envelope("ada@example.org"))
        .await
        .unwrap();
    let raw = messages.recv().await.unwrap();
    assert!(raw.contains("Subject: Spring sale\r\n"), "{raw}");
    assert!(raw.contains("To: ada@example.org\r\n"), "{raw}");
    assert!(
        raw.contains("List-Unsubscribe: <https://t.example/u/tok>\r\n"),
        "{raw}"
    );
    assert!(
        raw.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"),
        "{raw}"
    );
    assert!(raw.contains("multipart/alternative"), "{raw}");

    // The pooled connection serves the next message too.
    mailer
        .send_envelope(&envelope("grace@example.org"))
        .await
        .unwrap();
    assert!(messages
        .recv()
        .await
        .unwrap()
        .contains("To: grace@example.org"));
}

#[tokio::test]
async fn an_unknown_recipient_bounces() {
    let (address, _messages) = smtp_sink().await;
    let error = smtp_mailer(address)
        .send_envelope(&envelope("bounce@example.org"))
        .await
        .unwrap_err();
    assert_eq!(
        error,
        DeliveryError::Bounce("550 5.1.1 no such user".to_owned())
    );
}

/// Sends to `to` through the sink and answers the error.
async fn failure(to: &str) -> DeliveryError {
    let (address, _messages) = smtp_sink().await;
    smtp_mailer(address)
        .send_envelope(&envelope(to))
        .await
        .unwrap_err()
}

#[tokio::test]
async fn a_server_error_is_not_the_recipients_problem() {
    let error = failure("busy@example.org").await;
    assert_eq!(
        error,
        DeliveryError::Sending("451 4.3.0 try again later".to_owned())
    );
}

#[tokio::test]
async fn a_500_to_the_message_is_not_the_recipients_problem() {
    let error = failure("garbled@example.org").await;
    assert_eq!(
        error,
        DeliveryError::Sending("500 syntax error, command unrecognized".to_owned())
    );
}

#[tokio::test]
async fn an_authentication_refusal_is_not_the_recipients_problem() {
    let error = failure("locked@example.org").await;
    assert!(error.is_sending(), "{error}");
}

#[tokio::test]
async fn a_closed_port_is_not_the_recipients_problem() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let error = smtp_mailer(address)
        .send_envelope(&envelope("ada@example.org"))
        .await
        .unwrap_err();
    assert!(error.is_sending(), "{error}");
}

#[tokio::test]
async fn an_invalid_recipient_bounces_and_nothing_is_sent() {
    let (address, mut messages) = smtp_sink().await;
    let error = smtp_mailer(address)
        .send_envelope(&envelope("not an address"))
        .await
        .unwrap_err();
    assert!(error.is_bounce(), "{error}");
    assert!(messages.try_recv().is_err());
}

#[tokio::test]
async fn the_outbox_holds_one_eml_file_per_message() {
    let data_dir = tempfile::tempdir().unwrap();
    let settings = SettingsLayer {
        data_dir: Some(data_dir.path().to_owned()),
        ..SettingsLayer::default()
    }
    .resolve(SettingsLayer::default())
    .unwrap();
    let mailer = Mailer::from_settings(&settings).unwrap();
    let outbox = data_dir.path().join("outbox");
    assert_eq!(mailer.outbox_dir(), Some(outbox.as_path()));
    assert!(outbox.is_dir());

    mailer
        .send_envelope(&envelope("ada@example.org"))
        .await
        .unwrap();
    let files: Vec<_> = std::fs::read_dir(&outbox)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_file())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(files[0].extension().unwrap(), "eml");
    let partial = std::fs::read_dir(outbox.join(".partial")).unwrap().count();
    assert_eq!(partial, 0, "the message was moved in whole");
    let raw = std::fs::read_to_string(&files[0]).unwrap();
    assert!(raw.contains("Subject: Spring sale\r\n"), "{raw}");
    assert!(raw.contains("To: ada@example.org\r\n"), "{raw}");
    assert!(
        raw.contains("List-Unsubscribe: <https://t.example/u/tok>"),
        "{raw}"
    );
}

#[tokio::test]
async fn the_smtp_password_stays_out_of_debug_and_errors() {
    let mailer = Mailer::smtp(
        &SecretString::from("smtp://mailer:hunter2@127.0.0.1:2525".to_owned()),
        50,
    )
    .unwrap();
    assert!(!format!("{mailer:?}").contains("hunter2"));
    assert_eq!(mailer.outbox_dir(), None);

    let error = Mailer::smtp(
        &SecretString::from("smtp://mailer:hunter2@host?tls=maybe".to_owned()),
        0,
    )
    .unwrap_err();
    assert!(
        !format!("{error:#} {error:?}").contains("hunter2"),
        "{error:#}"
    );
}
