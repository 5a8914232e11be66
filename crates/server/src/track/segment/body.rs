//! What `/v1` reads and answers besides messages: bodies compressed with gzip, as Segment's
//! server libraries send them (the body limit applies to the decompressed size, so a small
//! gzip cannot inflate into a huge body), and refusals with Segment's `code` beside
//! `success` and `message`.

use std::io::Read;

use axum::body::Bytes;
use axum::http::{header, HeaderMap, StatusCode};
use flate2::read::GzDecoder;

use crate::track::refusal::Refusal;

/// The body as sent, or decompressed when its `Content-Encoding` is `gzip`; refused when it is
/// another encoding (415), corrupt (400), or over `limit` bytes once decompressed (413).
pub fn decoded(headers: &HeaderMap, body: Bytes, limit: usize) -> Result<Bytes, Refusal> {
    let encoding = headers.get(header::CONTENT_ENCODING).map(|value| {
        value
            .to_str()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase()
    });
    match encoding.as_deref() {
        None | Some("" | "identity") => Ok(body),
        Some("gzip" | "x-gzip") => {
            let mut inflated = Vec::new();
            let bound = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
            GzDecoder::new(&body[..])
                .take(bound)
                .read_to_end(&mut inflated)
                .map_err(|_| Refusal::new(StatusCode::BAD_REQUEST, "the gzip body is corrupt"))?;
            if inflated.len() > limit {
                return Err(Refusal::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("the body is over {limit} bytes once decompressed"),
                ));
            }
            Ok(inflated.into())
        }
        Some(other) => Err(Refusal::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("Content-Encoding {other} is not supported (gzip or none)"),
        )),
    }
}

/// Segment's error code for a refusal's status, from a closed set.
pub fn error_code(status: StatusCode) -> &'static str {
    match status.as_u16() {
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        408 => "timeout",
        413 => "payload_too_large",
        415 => "unsupported_encoding",
        429 | 503 => "overloaded",
        400..=499 => "invalid_request",
        _ => "internal_error",
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use flate2::write::GzEncoder;
    use flate2::Compression;

    use super::*;

    fn gzip(bytes: &[u8]) -> Bytes {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap().into()
    }

    fn gzipped() -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_ENCODING, "gzip".parse().unwrap());
        headers
    }

    #[test]
    fn gzip_is_inflated_within_the_limit() {
        let body = br#"{"event":"x"}"#;
        assert_eq!(decoded(&gzipped(), gzip(body), 100).unwrap(), &body[..]);
        assert_eq!(
            decoded(&HeaderMap::new(), Bytes::from_static(body), 100).unwrap(),
            &body[..]
        );
        let bomb = gzip(&vec![b' '; 1_000_000]);
        assert!(bomb.len() < 2_000, "{}", bomb.len());
        let refused = decoded(&gzipped(), bomb, 1_000).unwrap_err();
        assert_eq!(refused.status, StatusCode::PAYLOAD_TOO_LARGE);
        let corrupt = decoded(&gzipped(), Bytes::from_static(b"not gzip"), 100).unwrap_err();
        assert_eq!(corrupt.status, StatusCode::BAD_REQUEST);
        let mut brotli = HeaderMap::new();
        brotli.insert(header::CONTENT_ENCODING, "br".parse().unwrap());
        let unsupported = decoded(&brotli, Bytes::from_static(b"x"), 100).unwrap_err();
        assert_eq!(unsupported.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    }

    #[test]
    fn every_refusal_has_a_code() {
        assert_eq!(error_code(StatusCode::UNAUTHORIZED), "unauthorized");
        assert_eq!(
            error_code(StatusCode::UNPROCESSABLE_ENTITY),
            "invalid_request"
        );
        assert_eq!(
            error_code(StatusCode::INTERNAL_SERVER_ERROR),
            "internal_error"
        );
    }
}
