//! Resolving feed hosts for the HTTP client: the network policy applied at every connection, and a lookup
//! failure named as such rather than left as a bare connect error.

use std::net::SocketAddr;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::network_policy;

/// Raised by the resolver, and recognised again in the error chain.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct BlockedDestination(pub(crate) String);

/// Raised by the resolver when a name does not resolve, and recognised again in the error chain.
#[derive(Debug, thiserror::Error)]
#[error("{host}: {source}")]
pub(crate) struct UnresolvedHost {
    host: String,
    source: std::io::Error,
}

/// Resolves names for every connection, redirects included. Unless private networks are allowed it returns
/// public addresses only, and those are the ones connected to, so DNS rebinding cannot reach a private
/// address. It also names a lookup failure, which the HTTP client would report as a mere connect error.
pub(crate) struct CheckedResolver {
    pub(crate) allow_private_networks: bool,
}

impl Resolve for CheckedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        let allow_private_networks = self.allow_private_networks;
        Box::pin(async move {
            let lookup = tokio::net::lookup_host((host.as_str(), 0)).await;
            let resolved: Vec<SocketAddr> = match lookup {
                Ok(addresses) => addresses.collect(),
                Err(source) => {
                    let host = host.clone();
                    return Err(Box::new(UnresolvedHost { host, source }) as ResolveError);
                }
            };
            let usable: Vec<SocketAddr> = resolved
                .into_iter()
                .filter(|address| allow_private_networks || network_policy::is_public(address.ip()))
                .collect();
            if usable.is_empty() {
                let message =
                    network_policy::refusal(&format!("{host} resolves only to private or reserved addresses"));
                return Err(Box::new(BlockedDestination(message)) as ResolveError);
            }
            Ok(Box::new(usable.into_iter()) as Addrs)
        })
    }
}

type ResolveError = Box<dyn std::error::Error + Send + Sync>;

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_resolver_refuses_names_that_resolve_to_private_addresses() {
        use std::str::FromStr;
        // `localhost` resolves to loopback on every machine; the textual check is not involved here.
        let name = Name::from_str("localhost").expect("a valid name");
        let resolver = CheckedResolver {
            allow_private_networks: false,
        };
        let error = resolver.resolve(name).await.err().expect("loopback is refused");
        assert!(error.to_string().contains("private or reserved"), "{error}");
        assert!(error.to_string().contains(network_policy::ALLOWING_SETTING), "{error}");
    }

    #[tokio::test]
    async fn a_name_that_does_not_resolve_is_reported_as_such() {
        use std::str::FromStr;
        // `.invalid` never resolves (RFC 2606); the lookup goes no further than the local resolver.
        for allow_private_networks in [false, true] {
            let name = Name::from_str("feed.syndic-test.invalid").expect("a valid name");
            let error = CheckedResolver { allow_private_networks }
                .resolve(name)
                .await
                .err()
                .expect("the name does not resolve");
            assert!(error.is::<UnresolvedHost>(), "{error}");
            assert!(error.to_string().starts_with("feed.syndic-test.invalid: "), "{error}");
        }
    }
}
