//! Unit tests of `files`: the quota through reservations, uploads and expiry, the upload URL
//! used once, and the URLs' shapes. The HTTP side is tested over the wire (`tests/it/files*`).

use std::fs;

use super::*;

fn files(adjust: impl FnOnce(&mut Config)) -> Files {
    let mut config = Config {
        ephemeral: true,
        http: Some("127.0.0.1:8080".parse().unwrap()),
        max_file_size: 100,
        file_quota: 250,
        ..Config::default()
    };
    adjust(&mut config);
    let web = config.http;
    Files::open(&config, web).unwrap().expect("a web listener")
}

fn alice() -> Nick {
    Nick::parse("alice").unwrap()
}

/// The upload token of an upload URL.
fn token_of(url: &str) -> Token {
    let (_, token) = url.rsplit_once('/').unwrap();
    Token::parse(token).unwrap()
}

/// Writes `size` bytes for `upload` and keeps it.
fn complete(files: &Files, upload: Upload) -> Stored {
    fs::write(upload.partial_path(), vec![7u8; upload.size() as usize]).unwrap();
    files.keep(upload).unwrap()
}

#[test]
fn issue_17_the_quota_counts_reservations_and_kept_files() {
    let files = files(|_| {});
    assert_eq!(
        files.reserve(1, alice(), FileTarget::Lobby, 101, "a"),
        Err(ProtocolError::FileTooLarge {
            size: 101,
            max: 100
        })
    );
    let first = files
        .reserve(1, alice(), FileTarget::Lobby, 100, "a")
        .unwrap();
    let second = files
        .reserve(2, alice(), FileTarget::Lobby, 100, "b")
        .unwrap();
    assert!(
        first.starts_with("http://127.0.0.1:8080/upload/"),
        "{first}"
    );
    assert_ne!(token_of(&first), token_of(&second));
    assert_eq!(
        files.reserve(3, alice(), FileTarget::Lobby, 51, "c"),
        Err(ProtocolError::Quota { free: 50 })
    );
    // A failed upload gives its share back; a kept one holds it as a file.
    drop(files.start(token_of(&first)).unwrap());
    let upload = files.start(token_of(&second)).unwrap();
    let stored = complete(&files, upload);
    assert_eq!(files.counts().kept_bytes, 100);
    assert_eq!(files.counts().kept, 1);
    files
        .reserve(3, alice(), FileTarget::Lobby, 100, "c")
        .unwrap();
    assert_eq!(
        files.reserve(4, alice(), FileTarget::Lobby, 51, "d"),
        Err(ProtocolError::Quota { free: 50 })
    );
    files.discard(stored.token);
    assert_eq!(files.counts(), FileCounts::default());
    assert_eq!(files.state(), (0, 100));
    assert!(
        files
            .reserve(4, alice(), FileTarget::Lobby, 100, "d")
            .is_ok()
    );
}

#[test]
fn issue_17_an_upload_url_is_used_once_and_expires() {
    let files = files(|config| config.file_lifetime = Duration::from_secs(3600));
    let url = files
        .reserve(1, alice(), FileTarget::Lobby, 10, "a")
        .unwrap();
    let upload = files.start(token_of(&url)).unwrap();
    assert_eq!(
        (upload.sender(), upload.size(), upload.name()),
        (1, 10, "a")
    );
    assert!(files.start(token_of(&url)).is_none(), "used once");
    drop(upload);
    assert!(files.start(token_of(&url)).is_none(), "not valid again");
    assert!(files.start(Token::new()).is_none());

    let url = files
        .reserve(1, alice(), FileTarget::Lobby, 10, "a")
        .unwrap();
    let later = SystemTime::now() + UPLOAD_WINDOW + Duration::from_secs(1);
    assert_eq!(files.sweep(later, &[]), []);
    assert!(files.start(token_of(&url)).is_none());
    assert_eq!(files.state(), (0, 0));
}

#[test]
fn issue_17_uploads_of_a_sender_that_left_are_swept_and_a_sender_has_few_waiting() {
    let files = files(|config| config.max_file_size = 1);
    for _ in 0..MAX_WAITING_PER_CLIENT {
        files
            .reserve(1, alice(), FileTarget::Lobby, 1, "a")
            .unwrap();
    }
    assert_eq!(
        files.reserve(1, alice(), FileTarget::Lobby, 1, "a"),
        Err(ProtocolError::UploadsWaiting {
            max: MAX_WAITING_PER_CLIENT
        })
    );
    let other = files
        .reserve(2, alice(), FileTarget::Lobby, 1, "a")
        .unwrap();
    assert_eq!(files.state(), (0, 5));
    assert_eq!(files.waiting_senders(), [1, 2]);
    files.sweep(SystemTime::now(), &[1]);
    assert_eq!(files.state(), (0, 1));
    assert!(files.start(token_of(&other)).is_some());
    files
        .reserve(1, alice(), FileTarget::Lobby, 1, "a")
        .unwrap();
}

#[test]
fn issue_17_an_expired_file_is_not_served_and_its_bytes_are_freed() {
    let files = files(|config| config.file_lifetime = Duration::from_secs(60));
    let url = files
        .reserve(1, alice(), FileTarget::Lobby, 5, "a b/c")
        .unwrap();
    let stored = complete(&files, files.start(token_of(&url)).unwrap());
    let download = files.download(stored.token).unwrap();
    assert_eq!((download.size, download.name.as_str()), (5, "a b/c"));
    assert_eq!(fs::read(&download.path).unwrap(), [7u8; 5]);
    assert_eq!(files.sweep(SystemTime::now(), &[]), []);
    let later = SystemTime::now() + Duration::from_secs(61);
    assert_eq!(files.sweep(later, &[]), [stored.token]);
    assert!(files.download(stored.token).is_none());
    assert_eq!(files.state(), (0, 0));
    files.delete(&[stored.token]);
    assert!(!download.path.exists());
}

#[test]
fn issue_17_a_download_url_names_the_file_percent_encoded_after_its_token() {
    let files = files(|config| config.web_url = Some("https://chat.example.org/".into()));
    let token = Token::parse("0123456789abcdef0123456789abcdef").unwrap();
    for (name, encoded) in [
        ("a.txt", "a.txt"),
        ("two words.png", "two%20words.png"),
        ("%2F", "%252F"),
        ("a\\b?c#d", "a%5Cb%3Fc%23d"),
        ("été~", "%C3%A9t%C3%A9~"),
    ] {
        assert_eq!(
            files.download_url(token, name),
            format!("https://chat.example.org/files/{token}/{encoded}")
        );
    }
}

#[test]
fn issue_17_no_web_listener_no_files() {
    let config = Config {
        http: None,
        ..Config::default()
    };
    assert!(Files::open(&config, None).unwrap().is_none());
}

impl Files {
    /// The bytes (kept, reserved).
    fn state(&self) -> (u64, u64) {
        let state = self.shared.state.lock();
        (state.used, state.reserved)
    }
}
