//! Reading response headers into data: validators, the publisher's hints about when to poll again
//! (Cache-Control max-age, Expires, Retry-After), and where a redirect's Location may lead. Pure
//! functions, so every odd header can be tested.

use std::time::{Duration, SystemTime};

use reqwest::header::{
    HeaderMap, HeaderName, HeaderValue, CACHE_CONTROL, DATE, ETAG, EXPIRES, LAST_MODIFIED, RETRY_AFTER,
};

use reqwest::StatusCode;
use url::Url;

use crate::feed_url::check_literal_address;
use crate::fetch::{FetchError, PublisherHints, Validators};

/// Longest hint believed. A publisher asking for more than a week is either wrong or hostile, and a feed
/// that is not polled for longer than that is as good as dropped.
pub const MAX_HINT: Duration = Duration::from_secs(7 * 24 * 60 * 60);

fn text(headers: &HeaderMap, name: HeaderName) -> Option<&str> {
    headers.get(name).and_then(|value: &HeaderValue| value.to_str().ok())
}

pub fn read_validators(headers: &HeaderMap) -> Validators {
    Validators {
        etag: text(headers, ETAG).map(str::to_owned),
        last_modified: text(headers, LAST_MODIFIED).map(str::to_owned),
    }
}

/// The hints of a final response (200 or 304). Retry-After is read too: some servers send it with a
/// success to ask for a slower pace.
pub fn read_hints(headers: &HeaderMap, now: SystemTime) -> PublisherHints {
    let cache_control: Vec<&str> = headers
        .get_all(CACHE_CONTROL)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .collect();
    let date = text(headers, DATE);
    PublisherHints {
        max_age: parse_max_age(&cache_control),
        expires_in: text(headers, EXPIRES).and_then(|value| parse_expires(value, date, now)),
        retry_after: read_retry_after(headers, now),
    }
}

/// Retry-After of a response, as a duration from now.
pub fn read_retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let date = text(headers, DATE);
    text(headers, RETRY_AFTER).and_then(|value| parse_retry_after(value, date, now))
}

/// `max-age` from the Cache-Control header lines (a header may be sent several times). `no-cache` and
/// `no-store` mean "do not keep this", so they win over any max-age. Other directives are ignored.
pub fn parse_max_age(lines: &[&str]) -> Option<Duration> {
    let mut max_age = None;
    for directive in lines.iter().flat_map(|line| line.split(',')) {
        let (name, value) = match directive.split_once('=') {
            Some((name, value)) => (name.trim(), Some(value.trim().trim_matches('"'))),
            None => (directive.trim(), None),
        };
        if name.eq_ignore_ascii_case("no-cache") || name.eq_ignore_ascii_case("no-store") {
            return None;
        }
        if name.eq_ignore_ascii_case("max-age") && max_age.is_none() {
            max_age = value.and_then(parse_seconds);
        }
    }
    max_age
}

/// `Expires` as a duration from now. The distance is taken from the response's own `Date` when it has
/// one, so a server whose clock is off still gets the interval it meant. A past or invalid date (`0` is
/// common) means "already expired": no hint.
pub fn parse_expires(value: &str, date: Option<&str>, now: SystemTime) -> Option<Duration> {
    let expires = httpdate::parse_http_date(value.trim()).ok()?;
    until(expires, date, now)
}

/// `Retry-After`: delta-seconds or an HTTP date. A date in the past asks for nothing: no hint.
pub fn parse_retry_after(value: &str, date: Option<&str>, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if value.starts_with(|character: char| character.is_ascii_digit() || character == '-') {
        return parse_seconds(value);
    }
    let at = httpdate::parse_http_date(value).ok()?;
    until(at, date, now)
}

/// Non-negative whole seconds, capped at [`MAX_HINT`]. Digits beyond what u64 holds are still a number,
/// just a huge one, so they cap instead of being thrown away.
fn parse_seconds(value: &str) -> Option<Duration> {
    if value.is_empty() || !value.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    let seconds = value.parse::<u64>().unwrap_or(u64::MAX);
    Some(Duration::from_secs(seconds).min(MAX_HINT))
}

/// From the reference time (the response's `Date`, else now) to `at`, capped; None when `at` is not later.
fn until(at: SystemTime, date: Option<&str>, now: SystemTime) -> Option<Duration> {
    let reference = date
        .and_then(|date| httpdate::parse_http_date(date.trim()).ok())
        .unwrap_or(now);
    match at.duration_since(reference) {
        Ok(distance) if !distance.is_zero() => Some(distance.min(MAX_HINT)),
        _ => None,
    }
}

/// The statuses followed as redirects. 300 and 305 are not: they need a choice or a proxy.
pub fn is_redirect(status: StatusCode) -> bool {
    matches!(
        status,
        StatusCode::MOVED_PERMANENTLY
            | StatusCode::FOUND
            | StatusCode::SEE_OTHER
            | StatusCode::TEMPORARY_REDIRECT
            | StatusCode::PERMANENT_REDIRECT
    )
}

/// Where a redirect may go: `location` resolved against the current URL, http or https only, and no
/// private literal address unless private networks are allowed. Names are checked again when they
/// resolve, at connection time.
pub fn vet_redirect(current: &Url, location: &str, allow_private: bool) -> Result<Url, FetchError> {
    let mut target = current
        .join(location.trim())
        .map_err(|error| FetchError::Blocked(format!("unusable redirect target: {error}")))?;
    if target.scheme() != "http" && target.scheme() != "https" {
        let message = format!("redirect to a {} URL", target.scheme());
        return Err(FetchError::Blocked(message));
    }
    if target.host_str().is_none_or(str::is_empty) {
        return Err(FetchError::Blocked("redirect to a URL without a host".into()));
    }
    if !allow_private {
        check_literal_address(&target).map_err(|error| FetchError::Blocked(error.to_string()))?;
    }
    target.set_fragment(None);
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> SystemTime {
        httpdate::parse_http_date(text).unwrap()
    }

    const NOW: &str = "Sun, 06 Nov 1994 08:49:37 GMT";

    #[test]
    fn max_age_is_read_among_other_directives() {
        assert_eq!(parse_max_age(&["public, max-age=300"]), Some(Duration::from_secs(300)));
        assert_eq!(
            parse_max_age(&["public", "MAX-AGE=\"60\", must-revalidate"]),
            Some(Duration::from_secs(60))
        );
        assert_eq!(parse_max_age(&["max-age=0"]), Some(Duration::ZERO));
        assert_eq!(parse_max_age(&["s-maxage=60, private"]), None);
        assert_eq!(parse_max_age(&[]), None);
    }

    #[test]
    fn no_cache_and_no_store_win_over_max_age() {
        assert_eq!(parse_max_age(&["max-age=300, no-cache"]), None);
        assert_eq!(parse_max_age(&["no-store", "max-age=300"]), None);
    }

    #[test]
    fn bad_max_age_values_give_no_hint_and_huge_ones_are_capped() {
        for line in ["max-age=-5", "max-age=", "max-age=soon", "max-age=1.5", "max-age"] {
            assert_eq!(parse_max_age(&[line]), None, "{line}");
        }
        assert_eq!(parse_max_age(&["max-age=99999999999999999999999"]), Some(MAX_HINT));
        assert_eq!(parse_max_age(&["max-age=86400000"]), Some(MAX_HINT));
    }

    #[test]
    fn expires_is_measured_from_the_response_date_when_there_is_one() {
        let expires = "Sun, 06 Nov 1994 09:49:37 GMT";
        assert_eq!(parse_expires(expires, None, at(NOW)), Some(Duration::from_secs(3600)));
        // The server's clock says 09:19:37: it meant thirty minutes, whatever our clock says.
        let date = Some("Sun, 06 Nov 1994 09:19:37 GMT");
        assert_eq!(parse_expires(expires, date, at(NOW)), Some(Duration::from_secs(1800)));
        // An unreadable Date falls back to now.
        assert_eq!(
            parse_expires(expires, Some("yesterday"), at(NOW)),
            Some(Duration::from_secs(3600))
        );
    }

    #[test]
    fn past_invalid_and_far_expires() {
        assert_eq!(parse_expires("Sun, 06 Nov 1994 07:49:37 GMT", None, at(NOW)), None);
        assert_eq!(parse_expires(NOW, None, at(NOW)), None);
        assert_eq!(parse_expires("0", None, at(NOW)), None);
        assert_eq!(parse_expires("-1", None, at(NOW)), None);
        assert_eq!(parse_expires("not a date", None, at(NOW)), None);
        assert_eq!(
            parse_expires("Fri, 01 Jan 2100 00:00:00 GMT", None, at(NOW)),
            Some(MAX_HINT)
        );
        // The two obsolete forms HTTP still allows.
        assert_eq!(
            parse_expires("Sunday, 06-Nov-94 09:49:37 GMT", None, at(NOW)),
            Some(Duration::from_secs(3600))
        );
        assert_eq!(
            parse_expires("Sun Nov  6 09:49:37 1994", None, at(NOW)),
            Some(Duration::from_secs(3600))
        );
    }

    #[test]
    fn retry_after_in_seconds() {
        assert_eq!(parse_retry_after("120", None, at(NOW)), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after(" 0 ", None, at(NOW)), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("-120", None, at(NOW)), None);
        assert_eq!(parse_retry_after("12s", None, at(NOW)), None);
        assert_eq!(parse_retry_after("", None, at(NOW)), None);
        assert_eq!(parse_retry_after("31536000000", None, at(NOW)), Some(MAX_HINT));
    }

    #[test]
    fn retry_after_as_a_date() {
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:51:37 GMT", None, at(NOW)),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after(
                "Sun, 06 Nov 1994 08:51:37 GMT",
                Some("Sun, 06 Nov 1994 08:50:37 GMT"),
                at(NOW)
            ),
            Some(Duration::from_secs(60))
        );
        assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", None, at(NOW)), None);
        assert_eq!(parse_retry_after("tomorrow", None, at(NOW)), None);
    }

    #[test]
    fn hints_and_validators_are_read_from_a_header_map() {
        let mut headers = HeaderMap::new();
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("max-age=600"));
        headers.append(CACHE_CONTROL, HeaderValue::from_static("public"));
        headers.insert(DATE, HeaderValue::from_static(NOW));
        headers.insert(EXPIRES, HeaderValue::from_static("Sun, 06 Nov 1994 08:59:37 GMT"));
        headers.insert(RETRY_AFTER, HeaderValue::from_static("30"));
        headers.insert(ETAG, HeaderValue::from_static("\"v1\""));
        let hints = read_hints(&headers, at(NOW));
        assert_eq!(
            hints,
            PublisherHints {
                max_age: Some(Duration::from_secs(600)),
                expires_in: Some(Duration::from_secs(600)),
                retry_after: Some(Duration::from_secs(30)),
            }
        );
        assert_eq!(read_validators(&headers).etag.as_deref(), Some("\"v1\""));
        assert_eq!(read_hints(&HeaderMap::new(), at(NOW)), PublisherHints::default());
    }

    fn vet(location: &str, allow_private: bool) -> Result<String, FetchError> {
        let current = Url::parse("https://example.com/blog/feed.xml").unwrap();
        vet_redirect(&current, location, allow_private).map(String::from)
    }

    #[test]
    fn relative_locations_resolve_against_the_current_url() {
        assert_eq!(vet("/rss", false).unwrap(), "https://example.com/rss");
        assert_eq!(vet("atom.xml", false).unwrap(), "https://example.com/blog/atom.xml");
        assert_eq!(
            vet("//cdn.example.net/f#x", false).unwrap(),
            "https://cdn.example.net/f"
        );
        assert_eq!(vet("http://other.example/", false).unwrap(), "http://other.example/");
    }

    #[test]
    fn other_schemes_are_blocked() {
        for location in ["ftp://example.com/feed", "file:///etc/passwd", "javascript:alert(1)"] {
            assert!(matches!(vet(location, true), Err(FetchError::Blocked(_))), "{location}");
        }
        assert!(matches!(vet("http://", true), Err(FetchError::Blocked(_))));
    }

    #[test]
    fn private_literal_targets_are_blocked_unless_allowed() {
        for location in [
            "http://10.0.0.1/",
            "http://127.0.0.1:8080/x",
            "http://[::1]/",
            "http://localhost/",
        ] {
            assert!(
                matches!(vet(location, false), Err(FetchError::Blocked(_))),
                "{location}"
            );
            assert!(vet(location, true).is_ok(), "{location}");
        }
    }
}
