//! Feed URLs: parsed, checked and normalised once, so that one feed has one URL and one actor.

use std::net::IpAddr;

use url::{Host, Url};

use crate::network_policy;

/// Longest URL accepted, in bytes. Longer ones are almost always abuse.
const MAX_URL_LENGTH: usize = 2048;

/// A feed URL in normal form: http or https, scheme and host lowercased, no fragment, no default port.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FeedUrl(Url);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidFeedUrl {
    #[error("the URL is empty")]
    Empty,
    #[error("the URL is longer than {MAX_URL_LENGTH} bytes")]
    TooLong,
    #[error("the URL could not be parsed: {0}")]
    Malformed(String),
    #[error("only http and https URLs are accepted, not {0}")]
    UnsupportedScheme(String),
    #[error("the URL has no host")]
    NoHost,
    #[error("the URL points at a private or reserved address ({0}), which this server does not fetch")]
    PrivateAddress(String),
}

impl FeedUrl {
    pub fn parse(input: &str) -> Result<Self, InvalidFeedUrl> {
        let input = input.trim();
        if input.is_empty() {
            return Err(InvalidFeedUrl::Empty);
        }
        if input.len() > MAX_URL_LENGTH {
            return Err(InvalidFeedUrl::TooLong);
        }
        let mut url = Url::parse(input).map_err(|error| InvalidFeedUrl::Malformed(error.to_string()))?;
        if url.scheme() != "http" && url.scheme() != "https" {
            return Err(InvalidFeedUrl::UnsupportedScheme(url.scheme().to_owned()));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(InvalidFeedUrl::NoHost);
        }
        // The url crate already lowercases scheme and host and drops the default port of http(s).
        url.set_fragment(None);
        Ok(FeedUrl(url))
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    pub fn as_url(&self) -> &Url {
        &self.0
    }

    pub fn host(&self) -> &str {
        self.0.host_str().unwrap_or_default()
    }

    /// Refuses a URL whose host is an IP literal outside the public internet. Names are checked when they
    /// resolve, at every connection (see `fetch`), so DNS cannot be used to get round this.
    pub fn check_literal_address(&self) -> Result<(), InvalidFeedUrl> {
        check_literal_address(&self.0)
    }
}

impl std::fmt::Display for FeedUrl {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// See [`FeedUrl::check_literal_address`]; also used on redirect targets.
pub fn check_literal_address(url: &Url) -> Result<(), InvalidFeedUrl> {
    let address: Option<IpAddr> = match url.host() {
        Some(Host::Ipv4(v4)) => Some(v4.into()),
        Some(Host::Ipv6(v6)) => Some(v6.into()),
        Some(Host::Domain(name)) if name.eq_ignore_ascii_case("localhost") || name.ends_with(".localhost") => {
            return Err(InvalidFeedUrl::PrivateAddress(name.to_owned()));
        }
        _ => None,
    };
    match address {
        Some(address) if !network_policy::is_public(address) => {
            Err(InvalidFeedUrl::PrivateAddress(address.to_string()))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn normal(input: &str) -> String {
        FeedUrl::parse(input).unwrap().as_str().to_owned()
    }

    #[test]
    fn scheme_and_host_are_lowercased_and_fragment_and_default_port_dropped() {
        assert_eq!(
            normal("HTTP://Example.COM:80/Feed.xml#top"),
            "http://example.com/Feed.xml"
        );
        assert_eq!(normal("https://EXAMPLE.com:443/a?b=C"), "https://example.com/a?b=C");
        assert_eq!(normal("  https://example.com  "), "https://example.com/");
    }

    #[test]
    fn other_ports_and_paths_are_kept() {
        assert_eq!(normal("http://example.com:8080/rss"), "http://example.com:8080/rss");
        assert_eq!(normal("https://example.com:80/"), "https://example.com:80/");
    }

    #[test]
    fn bad_urls_are_refused_with_a_reason() {
        assert_eq!(FeedUrl::parse(""), Err(InvalidFeedUrl::Empty));
        assert_eq!(FeedUrl::parse("   "), Err(InvalidFeedUrl::Empty));
        assert!(matches!(FeedUrl::parse("not a url"), Err(InvalidFeedUrl::Malformed(_))));
        assert_eq!(
            FeedUrl::parse("ftp://example.com/feed"),
            Err(InvalidFeedUrl::UnsupportedScheme("ftp".into()))
        );
        assert_eq!(
            FeedUrl::parse("file:///etc/passwd"),
            Err(InvalidFeedUrl::UnsupportedScheme("file".into()))
        );
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL_LENGTH));
        assert_eq!(FeedUrl::parse(&long), Err(InvalidFeedUrl::TooLong));
    }

    #[test]
    fn private_literal_addresses_are_refused() {
        for url in [
            "http://127.0.0.1/feed",
            "http://[::1]/feed",
            "http://10.1.2.3/",
            "http://localhost:8080/",
            "http://a.localhost/",
        ] {
            let feed_url = FeedUrl::parse(url).unwrap();
            assert!(
                matches!(feed_url.check_literal_address(), Err(InvalidFeedUrl::PrivateAddress(_))),
                "{url}"
            );
        }
        assert_eq!(
            FeedUrl::parse("http://93.184.216.34/feed")
                .unwrap()
                .check_literal_address(),
            Ok(())
        );
        assert_eq!(
            FeedUrl::parse("https://example.com/feed")
                .unwrap()
                .check_literal_address(),
            Ok(())
        );
    }
}
