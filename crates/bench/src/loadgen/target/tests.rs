//! Unit tests of `target`: the URLs of `--target` and the addresses a child server logs.

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

#[test]
fn the_address_comes_from_the_listening_line() {
    let line = "12:00:01 [INFO] listening on 127.0.0.1:40123, workers=2";
    assert_eq!(
        listening_addr(line),
        Some("127.0.0.1:40123".parse().unwrap())
    );
    assert_eq!(listening_addr("12:00:01 [INFO] shutting down"), None);
    let web = "12:00:01 [INFO] web page at http://127.0.0.1:40124/";
    assert_eq!(web_page_addr(web), Some("127.0.0.1:40124".parse().unwrap()));
    assert_eq!(
        web_page_addr("web page at http://[::1]:8080/"),
        Some("[::1]:8080".parse().unwrap())
    );
    assert_eq!(web_page_addr(line), None);
    assert_eq!(listening_addr(web), None);
    let secure = "12:00:01 [INFO] web page at https://127.0.0.1:40124/";
    assert_eq!(web_page_addr(secure), web_page_addr(web));
    let tls = "12:00:01 [INFO] listening with TLS on 127.0.0.1:40125";
    assert_eq!(
        tls_listening_addr(tls),
        Some("127.0.0.1:40125".parse().unwrap())
    );
    assert_eq!(listening_addr(tls), None);
    assert_eq!(tls_listening_addr(line), None);
}
