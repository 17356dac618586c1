//! Whether a message proves its sender (RFC 8601 `Authentication-Results`).
//!
//! Only the results our own receiving server wrote count: they carry its authserv-id (a
//! setting). Anyone can put an `Authentication-Results` header into a message; the
//! receiving server removes those claiming its own id, so one with that id is its verdict.

/// The results read from a message's headers for its sender's domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// DMARC passed for the sender's domain.
    Pass,
    /// The receiving server says the sender is not proven: DMARC failed, or SPF and DKIM
    /// both did. The text names the results, for the note or the quarantine.
    Fail(String),
    /// No results from our server (not configured, or it did not check).
    Unknown,
}

/// Headers looked at, at most (a message may carry any number).
const HEADERS_MAX: usize = 20;
/// Longest header value read.
const VALUE_MAX: usize = 4096;

/// One `method=result` of a header, with the properties that name a domain.
#[derive(Debug, Default)]
struct Result_ {
    method: String,
    result: String,
    /// `header.from` (DMARC), `smtp.mailfrom` (SPF), `header.d` (DKIM), lower-cased.
    domain: Option<String>,
}

/// Removes RFC 5322 comments `( … )`, nested ones included.
fn without_comments(value: &str) -> String {
    let mut depth = 0usize;
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '(' => depth += 1,
            ')' if depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// Parses a header value: the authserv-id and its results.
fn parse(value: &str) -> Option<(String, Vec<Result_>)> {
    let value: String = value.chars().take(VALUE_MAX).collect();
    let value = without_comments(&value).to_lowercase();
    let mut parts = value.split(';');
    let id = parts.next()?.split_whitespace().next()?.to_owned();
    let results = parts
        .filter_map(|part| {
            let mut words = part.split_whitespace();
            let (method, result) = words.next()?.split_once('=')?;
            let mut found = Result_ {
                method: method.split('/').next().unwrap_or(method).to_owned(),
                result: result.to_owned(),
                domain: None,
            };
            for word in words {
                if let Some((name, value)) = word.split_once('=')
                    && matches!(name, "header.from" | "header.d" | "smtp.mailfrom")
                {
                    let domain = value.rsplit('@').next().unwrap_or(value);
                    found.domain = Some(domain.trim_matches('"').to_owned());
                }
            }
            Some(found)
        })
        .collect();
    Some((id, results))
}

/// The verdict of `authserv_id`'s results on mail from `from_domain`. Results about
/// another domain (a DKIM signature of a mailing list, say) do not count.
pub fn verdict<'a>(
    headers: impl IntoIterator<Item = &'a str>,
    authserv_id: &str,
    from_domain: &str,
) -> Verdict {
    let authserv_id = authserv_id.trim().to_lowercase();
    let from_domain = from_domain.trim().to_lowercase();
    if authserv_id.is_empty() {
        return Verdict::Unknown;
    }
    let ours: Vec<Result_> = headers
        .into_iter()
        .take(HEADERS_MAX)
        .filter_map(parse)
        .filter(|(id, _)| *id == authserv_id)
        .flat_map(|(_, results)| results)
        .filter(|r| r.domain.as_deref().is_none_or(|d| d == from_domain))
        .collect();
    let result_of = |method: &str| -> Vec<&str> {
        ours.iter()
            .filter(|r| r.method == method)
            .map(|r| r.result.as_str())
            .collect()
    };
    let (dmarc, spf, dkim) = (result_of("dmarc"), result_of("spf"), result_of("dkim"));
    if dmarc.contains(&"fail") {
        return Verdict::Fail("dmarc=fail".into());
    }
    if dmarc.contains(&"pass") {
        return Verdict::Pass;
    }
    let spf_failed = spf.iter().any(|r| matches!(*r, "fail" | "softfail"));
    let dkim_failed = !dkim.is_empty() && !dkim.contains(&"pass");
    if spf_failed && dkim_failed {
        return Verdict::Fail(format!(
            "spf={} dkim={}",
            spf.first().unwrap_or(&"?"),
            dkim.first().unwrap_or(&"?")
        ));
    }
    Verdict::Unknown
}

#[cfg(test)]
mod tests {
    use super::*;

    const MX: &str = "mx.okno.test";

    #[test]
    fn dmarc_failure_of_our_server_fails() {
        let header = "mx.okno.test; spf=fail (sender IP is 203.0.113.9) smtp.mailfrom=client@alfa.demo; \
                      dkim=none; dmarc=fail (p=REJECT sp=REJECT dis=NONE) header.from=alfa.demo";
        assert_eq!(
            verdict([header], MX, "alfa.demo"),
            Verdict::Fail("dmarc=fail".into())
        );
    }

    #[test]
    fn spf_and_dkim_both_failing_fails_without_dmarc() {
        let header =
            "mx.okno.test 1; spf=softfail smtp.mailfrom=alfa.demo; dkim=fail header.d=alfa.demo";
        assert_eq!(
            verdict([header], MX, "alfa.demo"),
            Verdict::Fail("spf=softfail dkim=fail".into())
        );
        let one = "mx.okno.test; spf=fail smtp.mailfrom=alfa.demo; dkim=pass header.d=alfa.demo";
        assert_eq!(verdict([one], MX, "alfa.demo"), Verdict::Unknown);
    }

    #[test]
    fn a_pass_passes() {
        let header = "MX.okno.test; dkim=pass header.d=alfa.demo header.s=mail; spf=pass; dmarc=pass header.from=alfa.demo";
        assert_eq!(verdict([header], MX, "alfa.demo"), Verdict::Pass);
    }

    #[test]
    fn headers_from_other_servers_and_domains_do_not_count() {
        // The sender wrote this one itself, naming someone else's server.
        let forged = "mx.alfa.demo; spf=pass; dkim=pass; dmarc=pass header.from=alfa.demo";
        let ours = "mx.okno.test; dmarc=fail header.from=alfa.demo";
        assert_eq!(
            verdict([forged, ours], MX, "alfa.demo"),
            Verdict::Fail("dmarc=fail".into())
        );
        assert_eq!(verdict([forged], MX, "alfa.demo"), Verdict::Unknown);
        let list = "mx.okno.test; dmarc=fail header.from=lists.example";
        assert_eq!(verdict([list], MX, "alfa.demo"), Verdict::Unknown);
        assert_eq!(
            verdict([ours], "", "alfa.demo"),
            Verdict::Unknown,
            "not configured"
        );
    }

    #[test]
    fn garbage_never_panics() {
        for header in [
            "",
            ";;;",
            "(((",
            "mx.okno.test; =; dmarc",
            "mx.okno.test; dmarc=fail (unclosed",
        ] {
            let _ = verdict([header], MX, "alfa.demo");
        }
        let long = format!("mx.okno.test; {}", "spf=fail; ".repeat(10_000));
        let _ = verdict([long.as_str()], MX, "alfa.demo");
    }
}
