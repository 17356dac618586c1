//! The second factor for staff (issue 22): time-based one-time passwords, RFC 6238 — steps
//! of 30 s, 6 digits, HMAC-SHA-1 — as every authenticator app makes them.
//!
//! A code is accepted one step either side of now (clocks drift, people type slowly) and
//! only for a step after the last one accepted for that person: a code seen once, by
//! a shoulder or a proxy, opens nothing again.

use crate::FieldError;
use hmac::{Hmac, KeyInit, Mac};
use jiff::Timestamp;

/// Seconds a code lives.
pub const STEP_SECS: i64 = 30;
/// Digits of a code.
pub const DIGITS: u32 = 6;
/// Steps either side of now a code may be from.
pub const WINDOW: i64 = 1;
/// Bytes of a new secret (160 bits, as RFC 4226 recommends).
pub const SECRET_BYTES: usize = 20;
/// Recovery codes given at enrolment.
pub const RECOVERY_CODES: usize = 10;

/// The step an instant falls in.
pub fn step_of(at: Timestamp) -> i64 {
    at.as_second().div_euclid(STEP_SECS)
}

/// The code of one step (RFC 4226's HOTP with the step as the counter).
pub fn code_at(secret: &[u8], step: i64) -> u32 {
    let mut mac = <Hmac<sha1::Sha1> as KeyInit>::new_from_slice(secret)
        .expect("HMAC takes a key of any length");
    mac.update(&step.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[digest.len() - 1] & 0x0f);
    let binary = u32::from_be_bytes([
        digest[offset] & 0x7f,
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ]);
    binary % 10u32.pow(DIGITS)
}

/// A code as typed: six digits, spaces allowed between them.
pub fn parse_code(text: &str) -> Result<u32, FieldError> {
    let digits: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    if digits.len() != DIGITS as usize || !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(FieldError::new(
            "code",
            "six digits from the authenticator app",
        ));
    }
    digits
        .parse()
        .map_err(|_| FieldError::new("code", "six digits from the authenticator app"))
}

/// The step the code belongs to, when it matches the current step ± [`WINDOW`] and comes after
/// `last_used` (the step of the last code accepted): the caller records it as the new
/// `last_used`. `None`: wrong, too old, or used already.
pub fn accepts(secret: &[u8], code: u32, now: Timestamp, last_used: Option<i64>) -> Option<i64> {
    let now = step_of(now);
    (now - WINDOW..=now + WINDOW)
        .filter(|&step| last_used.is_none_or(|last| step > last))
        .find(|&step| code_at(secret, step) == code)
}

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// RFC 4648 base32 without padding: how authenticator apps take a secret.
pub fn base32(bytes: &[u8]) -> String {
    let mut out = String::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(BASE32[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(BASE32[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// The bytes of a base32 secret (case and spaces ignored); `None` for anything else.
pub fn from_base32(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in text.chars().filter(|c| !c.is_whitespace() && *c != '=') {
        let value = BASE32
            .iter()
            .position(|&b| char::from(b) == c.to_ascii_uppercase())?;
        buffer = (buffer << 5) | value as u32;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    Some(out)
}

/// The `otpauth://` URI an authenticator app reads (from a QR code or pasted).
pub fn otpauth_uri(issuer: &str, account: &str, secret: &[u8]) -> String {
    let escape = |text: &str| -> String {
        text.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'@' => {
                    char::from(b).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    format!(
        "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECS}",
        escape(issuer),
        escape(account),
        base32(secret),
        escape(issuer)
    )
}

/// A recovery code as typed: letters and digits, dashes and spaces dropped, lowercase.
pub fn normalize_recovery(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1 rows (8 digits there; the last 6 are ours).
    #[test]
    fn rfc_6238_test_vectors() {
        let secret = b"12345678901234567890";
        for (seconds, eight) in [
            (59, 94287082u32),
            (1111111109, 7081804),
            (1111111111, 14050471),
            (1234567890, 89005924),
            (2000000000, 69279037),
            (20000000000, 65353130),
        ] {
            let at = Timestamp::from_second(seconds).unwrap();
            assert_eq!(code_at(secret, step_of(at)), eight % 1_000_000, "{seconds}");
        }
    }

    #[test]
    fn one_step_either_side_and_never_twice() {
        let secret = b"12345678901234567890";
        let now = Timestamp::from_second(1_700_000_000).unwrap();
        let step = step_of(now);
        for drift in [-1, 0, 1] {
            let code = code_at(secret, step + drift);
            assert_eq!(accepts(secret, code, now, None), Some(step + drift));
        }
        assert_eq!(accepts(secret, code_at(secret, step - 2), now, None), None);
        assert_eq!(accepts(secret, code_at(secret, step + 2), now, None), None);
        let code = code_at(secret, step);
        // The same code again in its step: refused; an older step's too.
        assert_eq!(accepts(secret, code, now, Some(step)), None);
        assert_eq!(
            accepts(secret, code_at(secret, step - 1), now, Some(step)),
            None
        );
        assert_eq!(
            accepts(secret, code_at(secret, step + 1), now, Some(step)),
            Some(step + 1)
        );
    }

    #[test]
    fn base32_round_trips_and_matches_rfc_4648() {
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32(b"f"), "MY");
        assert_eq!(from_base32("mzxw 6ytb oi").unwrap(), b"foobar");
        assert_eq!(from_base32("MZ1"), None);
        let secret: Vec<u8> = (0..20).collect();
        assert_eq!(from_base32(&base32(&secret)).unwrap(), secret);
    }

    #[test]
    fn codes_are_six_digits() {
        assert_eq!(parse_code("123 456").unwrap(), 123456);
        assert_eq!(parse_code("012345").unwrap(), 12345);
        assert!(parse_code("12345").is_err());
        assert!(parse_code("12345a").is_err());
    }

    #[test]
    fn the_uri_names_issuer_account_and_secret() {
        let uri = otpauth_uri("Okno", "admin@demo.okno", b"foobar");
        assert_eq!(
            uri,
            "otpauth://totp/Okno:admin@demo.okno?secret=MZXW6YTBOI&issuer=Okno&algorithm=SHA1&digits=6&period=30"
        );
    }
}
