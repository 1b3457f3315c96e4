use super::client_ip;

/// Behind a trusted proxy the client is the right-most untrusted X-Forwarded-For hop;
/// a client talking directly (or a spoofed header from an untrusted peer) is its peer.
#[test]
fn the_client_address_believes_only_trusted_proxies() {
    let trusted: Vec<ipnet::IpNet> = vec!["10.0.0.0/8".parse().unwrap(), "::1/128".parse().unwrap()];
    let ip = |s: &str| Some(s.parse().unwrap());
    assert_eq!(client_ip(&trusted, ip("203.0.113.9"), &["1.2.3.4"]), "203.0.113.9");
    assert_eq!(client_ip(&trusted, ip("10.1.2.3"), &["198.51.100.7"]), "198.51.100.7");
    assert_eq!(
        client_ip(&trusted, ip("10.1.2.3"), &["6.6.6.6, 198.51.100.7, 10.9.9.9"]),
        "198.51.100.7"
    );
    assert_eq!(
        client_ip(&trusted, ip("10.1.2.3"), &["6.6.6.6", "198.51.100.7"]),
        "198.51.100.7"
    );
    assert_eq!(client_ip(&trusted, ip("10.1.2.3"), &[]), "10.1.2.3");
    assert_eq!(client_ip(&trusted, ip("10.1.2.3"), &["garbage"]), "10.1.2.3");
    assert_eq!(client_ip(&[], ip("10.1.2.3"), &["198.51.100.7"]), "10.1.2.3");
    assert_eq!(client_ip(&trusted, None, &[]), "unknown");
}
