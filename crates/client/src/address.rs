//! The server's address as `--addr` gives it: `host:port`, `[v6]:port`, or a host alone,
//! which gets the default port (7878; 6697, chatd's TLS port, with `--tls`); or several of
//! them separated by commas (the nodes of a cluster, tried in turn). Pure.
//!
//! Out of scope: resolving it (`net`, again on every attempt) and the certificate's name
//! (`trust`, from [`host`]).

/// The port of the plain line protocol when `--addr` has none.
pub const PLAIN_PORT: u16 = 7878;

/// The port of the line protocol over TLS when `--addr` has none (as IRC's).
pub const TLS_PORT: u16 = 6697;

/// Each address of a comma-separated list, blanks around it taken off.
pub fn each(list: &str) -> impl Iterator<Item = &str> {
    list.split(',')
        .map(str::trim)
        .filter(|addr| !addr.is_empty())
}

/// Each address of `list` with `port` added where it has none, joined again.
pub fn list_with_default_port(list: &str, port: u16) -> String {
    let each: Vec<String> = each(list)
        .map(|addr| with_default_port(addr, port))
        .collect();
    each.join(",")
}

/// `addr` with `port` added if it has none: `localhost` → `localhost:6697`, `::1` →
/// `[::1]:6697`; an address with a port is kept as it is.
pub fn with_default_port(addr: &str, port: u16) -> String {
    if port_of(addr).is_some() {
        return addr.to_owned();
    }
    let host = addr.trim_start_matches('[').trim_end_matches(']');
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// The host part of `addr`, without the brackets of an IPv6 address.
pub fn host(addr: &str) -> &str {
    if let Some(rest) = addr.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match port_of(addr) {
        Some(_) => addr.rsplit_once(':').map_or(addr, |(host, _)| host),
        None => addr,
    }
}

/// The port `addr` names, if any. A bare IPv6 address (two colons or more) has none.
fn port_of(addr: &str) -> Option<&str> {
    if let Some(rest) = addr.strip_prefix('[') {
        return rest.split_once("]:").map(|(_, port)| port);
    }
    if addr.matches(':').count() != 1 {
        return None;
    }
    addr.rsplit_once(':').map(|(_, port)| port)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_alone_gets_the_default_port() {
        let cases = [
            ("localhost", "localhost:6697"),
            ("localhost:7000", "localhost:7000"),
            ("127.0.0.1", "127.0.0.1:6697"),
            ("::1", "[::1]:6697"),
            ("[::1]", "[::1]:6697"),
            ("[::1]:7000", "[::1]:7000"),
        ];
        for (given, expected) in cases {
            assert_eq!(with_default_port(given, TLS_PORT), expected, "{given}");
        }
        assert_eq!(with_default_port("h", PLAIN_PORT), "h:7878");
    }

    #[test]
    fn issue_19_a_list_is_each_address_with_its_default_port() {
        assert_eq!(
            list_with_default_port("a:7001, b ,[::1]", PLAIN_PORT),
            "a:7001,b:7878,[::1]:7878"
        );
        assert_eq!(each(" a:1,,b:2 ").collect::<Vec<_>>(), ["a:1", "b:2"]);
    }

    #[test]
    fn the_host_part_has_no_port_nor_brackets() {
        let cases = [
            ("chat.example.org:6697", "chat.example.org"),
            ("chat.example.org", "chat.example.org"),
            ("127.0.0.1:7878", "127.0.0.1"),
            ("[::1]:6697", "::1"),
            ("::1", "::1"),
        ];
        for (given, expected) in cases {
            assert_eq!(host(given), expected, "{given}");
        }
    }
}
