//! Which IP addresses a feed may be fetched from: public ones only, unless private networks are allowed.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The engine setting that lets feeds on private networks be fetched.
pub const ALLOWING_SETTING: &str = "SYNDIC_ALLOW_PRIVATE_NETWORKS";

/// A refusal of a private destination, followed by the setting that would allow it, so that someone trying
/// syndic on a local feed knows the way out.
pub fn refusal(reason: &str) -> String {
    format!("{reason} (set {ALLOWING_SETTING}=true to allow private networks)")
}

/// Whether an address is reachable on the public internet. Loopback, private, link-local, CGNAT, unspecified,
/// multicast, documentation and reserved ranges are not, in IPv4 and IPv6, including IPv4 embedded in IPv6.
pub fn is_public(address: IpAddr) -> bool {
    match address {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(address: Ipv4Addr) -> bool {
    let [a, b, c, _] = address.octets();
    let special = address.is_unspecified()
        || address.is_loopback()
        || address.is_private()
        || address.is_link_local()
        || address.is_broadcast()
        || address.is_multicast()
        || address.is_documentation()
        || a == 0 // "this network"
        || (a == 100 && (64..128).contains(&b)) // CGNAT 100.64.0.0/10
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments 192.0.0.0/24
        || (a == 198 && (b == 18 || b == 19)) // benchmarking 198.18.0.0/15
        || a >= 240; // reserved 240.0.0.0/4
    !special
}

fn is_public_v6(address: Ipv6Addr) -> bool {
    if let Some(v4) = embedded_ipv4(address) {
        return is_public_v4(v4);
    }
    let segments = address.segments();
    let special = address.is_unspecified()
        || address.is_loopback()
        || address.is_multicast()
        || (segments[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
        || (segments[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
        || (segments[0] & 0xffc0) == 0xfec0 // deprecated site-local fec0::/10
        || (segments[0] == 0x2001 && segments[1] == 0x0db8) // documentation 2001:db8::/32
        || (segments[0] == 0x0100 && segments[1..4] == [0, 0, 0]); // discard 100::/64
    !special
}

/// The IPv4 address an IPv6 address carries, for the forms that route to it: mapped (::ffff:a.b.c.d),
/// compatible (::a.b.c.d), NAT64 (64:ff9b::/96) and 6to4 (2002::/16).
fn embedded_ipv4(address: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = address.segments();
    let from = |high: u16, low: u16| Ipv4Addr::new((high >> 8) as u8, high as u8, (low >> 8) as u8, low as u8);
    if let Some(v4) = address.to_ipv4_mapped() {
        return Some(v4);
    }
    match s {
        [0, 0, 0, 0, 0, 0, high, low] if !(high == 0 && low <= 1) => Some(from(high, low)),
        [0x64, 0xff9b, 0, 0, 0, 0, high, low] => Some(from(high, low)),
        [0x2002, high, low, ..] => Some(from(high, low)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn public(text: &str) -> bool {
        is_public(text.parse().unwrap())
    }

    #[test]
    fn ordinary_internet_addresses_are_public() {
        for address in [
            "93.184.216.34",
            "1.1.1.1",
            "8.8.8.8",
            "2606:4700:4700::1111",
            "2a00:1450:4001:81b::200e",
        ] {
            assert!(public(address), "{address} should be public");
        }
    }

    #[test]
    fn private_and_special_ipv4_ranges_are_refused() {
        for address in [
            "127.0.0.1",
            "127.8.9.10",
            "10.0.0.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.255",
            "0.0.0.0",
            "0.1.2.3",
            "255.255.255.255",
            "224.0.0.1",
            "240.0.0.1",
            "192.0.2.1",
            "198.18.0.1",
            "192.0.0.8",
        ] {
            assert!(!public(address), "{address} should be refused");
        }
        assert!(public("172.32.0.1"));
        assert!(public("100.128.0.1"));
    }

    #[test]
    fn private_and_special_ipv6_ranges_are_refused() {
        for address in [
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
            "2001:db8::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::127.0.0.1",
            "64:ff9b::10.0.0.1",
            "2002:7f00:0001::1",
            "fec0::1",
        ] {
            assert!(!public(address), "{address} should be refused");
        }
        assert!(public("::ffff:8.8.8.8"));
        assert!(public("64:ff9b::8.8.8.8"));
    }
}
