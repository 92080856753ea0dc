//! Unit tests of `target`: the URLs of `--target`.

use super::*;

#[test]
fn target_urls_name_the_server_and_its_address() {
    let peer = |url: &str| TargetSpec::from_url(url, Some(7));
    let at = |text: &str| -> SocketAddr { text.parse().unwrap() };
    assert_eq!(
        peer("redis://127.0.0.1:6400"),
        Ok(TargetSpec::Peer {
            peer: Peer::Redis,
            addr: at("127.0.0.1:6400"),
            pid: Some(7)
        })
    );
    assert_eq!(
        peer("nats://127.0.0.1/"),
        Ok(TargetSpec::Peer {
            peer: Peer::Nats,
            addr: at("127.0.0.1:4222"),
            pid: Some(7)
        })
    );
    assert_eq!(
        peer("chatd://[::1]:7000"),
        Ok(TargetSpec::External {
            addr: at("[::1]:7000"),
            pid: Some(7),
            web: None,
            tls: None
        })
    );
    assert_eq!(
        TargetSpec::from_url("chatd://127.0.0.1", None),
        Ok(TargetSpec::External {
            addr: at("127.0.0.1:7878"),
            pid: None,
            web: None,
            tls: None
        })
    );
    for wrong in [
        "127.0.0.1:6379",
        "mqtt://127.0.0.1:1883",
        "redis://",
        "redis://127.0.0.1:6379/0",
    ] {
        assert!(peer(wrong).is_err(), "{wrong}");
    }
}
