//! The files' folder: where a file's bytes and its description lie, and what a start finds
//! there.
//!
//! In scope: the layout (`<token>` holds a file's bytes, `<token>.meta` its [`Meta`], `tmp/`
//! the uploads under way, each as `tmp/<upload token>`), reading and writing a `Meta`, and
//! the clean-up at start: every leftover in `tmp/` deleted, every file whose description or
//! bytes are missing, do not match or have expired deleted, the rest listed. Every path is
//! built from a token's hex alone. Out of scope: the quota and who may do what (`files`),
//! the HTTP side (`web::files`). Everything here blocks on the disk: callers on the web
//! runtime run it with `spawn_blocking`, and nothing here is ever called by a worker of the
//! core or under a lock of it.
//!
//! Why a description file per token and not a table in `chatd.db`: a file and its
//! description are created, renamed and deleted together, by the same code, in the same
//! folder, so a crash leaves at worst a pair that the next start matches up; an
//! `--ephemeral` server, which has no database, keeps its files the same way; and the
//! history store's one writer thread stays the database's only writer.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chatd_proto::{FileName, Nick, Target};

use crate::server::files::token::Token;

/// The first line of a description: its format, to be told apart from anything else.
const META_HEADER: &str = "chatd file 1";

/// What is known of a stored file, beyond its bytes: kept in `<token>.meta`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meta {
    pub size: u64,
    /// When it stops being served and is deleted.
    pub expires: SystemTime,
    /// Who sent it, and to whom, as the `FILE` line named them.
    pub from: Nick,
    pub to: Target,
    pub name: String,
}

impl Meta {
    /// The description as its file holds it: one `key value` per line, the name last.
    fn to_text(&self) -> String {
        format!(
            "{META_HEADER}\nsize {}\nexpires {}\nfrom {}\nto {}\nname {}\n",
            self.size,
            millis(self.expires),
            self.from,
            self.to,
            self.name
        )
    }

    /// Reads [`Meta::to_text`] back; `None` for anything else.
    fn parse(text: &str) -> Option<Meta> {
        let mut lines = text.strip_suffix('\n')?.split('\n');
        if lines.next()? != META_HEADER {
            return None;
        }
        let mut field = |key: &str| {
            let line = lines.next()?;
            line.strip_prefix(key)?.strip_prefix(' ')
        };
        let size = field("size")?.parse().ok()?;
        let expires = UNIX_EPOCH + Duration::from_millis(field("expires")?.parse().ok()?);
        let from = Nick::parse(field("from")?).ok()?;
        let to = match field("to")? {
            "*" => Target::Lobby,
            to if to.starts_with('#') => Target::Room(chatd_proto::Room::parse(to).ok()?),
            to => Target::Nick(Nick::parse(to).ok()?),
        };
        let name = FileName::parse(field("name")?).ok()?.as_str().to_owned();
        Some(Meta {
            size,
            expires,
            from,
            to,
            name,
        })
    }
}

/// Milliseconds since 1970, as a description keeps a time.
fn millis(time: SystemTime) -> u128 {
    time.duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_millis()
}

/// The folder of the files.
#[derive(Debug)]
pub struct Folder {
    root: PathBuf,
    /// Holds an `--ephemeral` server's folder, which is removed when the folder is dropped.
    _temporary: Option<tempfile::TempDir>,
}

impl Folder {
    /// The folder `root` (created if missing), cleaned up as the module's doc says, and the
    /// files it keeps, unexpired at `now`.
    pub fn open(root: PathBuf, now: SystemTime) -> io::Result<(Folder, Vec<(Token, Meta)>)> {
        Folder::with(root, None, now)
    }

    /// A new temporary folder, removed when the returned `Folder` drops.
    pub fn temporary() -> io::Result<Folder> {
        let temporary = tempfile::Builder::new().prefix("chatd-files-").tempdir()?;
        let root = temporary.path().to_owned();
        let (folder, _) = Folder::with(root, Some(temporary), SystemTime::now())?;
        Ok(folder)
    }

    fn with(
        root: PathBuf,
        temporary: Option<tempfile::TempDir>,
        now: SystemTime,
    ) -> io::Result<(Folder, Vec<(Token, Meta)>)> {
        let folder = Folder {
            root,
            _temporary: temporary,
        };
        fs::create_dir_all(folder.tmp())?;
        // An upload a crash or a stop cut short: nobody will ever finish it.
        for entry in fs::read_dir(folder.tmp())? {
            remove_file(&entry?.path());
        }
        let kept = folder.survey(now)?;
        Ok((folder, kept))
    }

    /// The files that may be served, each checked against its description; the others
    /// deleted.
    fn survey(&self, now: SystemTime) -> io::Result<Vec<(Token, Meta)>> {
        let mut kept = Vec::new();
        for entry in fs::read_dir(&self.root)? {
            let entry = entry?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else {
                continue;
            };
            if let Some(token) = name.strip_suffix(".meta").and_then(Token::parse) {
                let meta = fs::read_to_string(entry.path())
                    .ok()
                    .and_then(|text| Meta::parse(&text));
                let bytes = fs::metadata(self.path(token)).map(|data| data.len()).ok();
                match meta {
                    Some(meta) if bytes == Some(meta.size) && meta.expires > now => {
                        kept.push((token, meta));
                    }
                    _ => self.delete(token),
                }
            } else if let Some(token) = Token::parse(name) {
                // Bytes without a description: a crash between the two renames.
                if !self.meta_path(token).exists() {
                    remove_file(&self.path(token));
                }
            }
        }
        Ok(kept)
    }

    /// Where the bytes of the upload with token `upload` are written until they are all
    /// there.
    pub fn partial_path(&self, upload: Token) -> PathBuf {
        self.tmp().join(upload.to_string())
    }

    /// Makes the complete upload at `partial` the file `token` described by `meta`: the
    /// description is written (through a temporary file and a rename, so it is whole or
    /// absent), then the bytes moved in. Undone on an error.
    pub fn keep(&self, partial: &Path, token: Token, meta: &Meta) -> io::Result<()> {
        let written = self.write_meta(token, meta).and_then(|()| {
            fs::rename(partial, self.path(token))?;
            // The two renames survive a power cut only once the folder is written.
            fs::File::open(&self.root)?.sync_all()
        });
        if written.is_err() {
            self.delete(token);
        }
        written
    }

    fn write_meta(&self, token: Token, meta: &Meta) -> io::Result<()> {
        let partial = self.tmp().join(format!("{token}.meta"));
        let mut file = fs::File::create(&partial)?;
        let written = file
            .write_all(meta.to_text().as_bytes())
            .and_then(|()| file.sync_all())
            .and_then(|()| fs::rename(&partial, self.meta_path(token)));
        if written.is_err() {
            remove_file(&partial);
        }
        written
    }

    /// Deletes file `token`, its bytes and its description (either may be missing).
    pub fn delete(&self, token: Token) {
        remove_file(&self.path(token));
        remove_file(&self.meta_path(token));
    }

    /// Where the bytes of file `token` lie.
    pub fn path(&self, token: Token) -> PathBuf {
        self.root.join(token.to_string())
    }

    fn meta_path(&self, token: Token) -> PathBuf {
        self.root.join(format!("{token}.meta"))
    }

    fn tmp(&self) -> PathBuf {
        self.root.join("tmp")
    }
}

/// Deletes a file, if it is there. A file that cannot be deleted stays until the next start
/// tries again; the quota counts it freed, since it can no longer be downloaded.
pub fn remove_file(path: &Path) {
    match fs::remove_file(path) {
        Ok(()) => {}
        Err(error) if error.kind() == io::ErrorKind::NotFound => {}
        Err(error) => log::warn!("files: cannot delete {}: {error}", path.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(expires: SystemTime) -> Meta {
        Meta {
            size: 3,
            expires,
            from: Nick::parse("alice").unwrap(),
            to: Target::Room(chatd_proto::Room::parse("#tea").unwrap()),
            name: "a b.txt ".to_owned(),
        }
    }

    #[test]
    fn a_description_reads_back_and_nothing_else_does() {
        let now = UNIX_EPOCH + Duration::from_millis(1_796_565_600_123);
        let meta = meta(now);
        assert_eq!(Meta::parse(&meta.to_text()), Some(meta.clone()));
        for to in [Target::Lobby, Target::Nick(Nick::parse("bob").unwrap())] {
            let meta = Meta { to, ..meta.clone() };
            assert_eq!(Meta::parse(&meta.to_text()), Some(meta));
        }
        let text = meta.to_text();
        for bad in [
            "",
            &text[1..],
            &text.replace("size 3", "size x"),
            &text.replace("name a b.txt ", "name ../x"),
            &text.replace("from alice", "from 1"),
            text.trim_end(),
        ] {
            assert_eq!(Meta::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_start_keeps_whole_unexpired_files_and_deletes_everything_else() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("files");
        // In whole milliseconds, as a description keeps it.
        let now = UNIX_EPOCH + Duration::from_millis(millis(SystemTime::now()) as u64);
        let (folder, kept) = Folder::open(root.clone(), now).unwrap();
        assert!(kept.is_empty());
        let later = now + Duration::from_secs(60);
        let file = |contents: &[u8], expires| {
            let token = Token::new();
            let partial = folder.partial_path(Token::new());
            fs::write(&partial, contents).unwrap();
            folder.keep(&partial, token, &meta(expires)).unwrap();
            token
        };
        let whole = file(b"abc", later);
        let expired = file(b"abc", now);
        let short = file(b"ab", later);
        let bare = Token::new();
        fs::write(folder.path(bare), b"abc").unwrap();
        let lost = file(b"abc", later);
        fs::remove_file(folder.path(lost)).unwrap();
        fs::write(folder.partial_path(Token::new()), b"half").unwrap();
        fs::write(root.join("notes.txt"), b"not ours").unwrap();

        let (folder, kept) = Folder::open(root.clone(), now).unwrap();
        assert_eq!(kept, [(whole, meta(later))]);
        let mut left: Vec<String> = fs::read_dir(&root)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        let mut expected = vec![
            whole.to_string(),
            format!("{whole}.meta"),
            "notes.txt".to_owned(),
            "tmp".to_owned(),
        ];
        expected.sort();
        assert_eq!(left, expected);
        assert_eq!(fs::read_dir(root.join("tmp")).unwrap().count(), 0);
        for gone in [expired, short, bare, lost] {
            assert!(!folder.path(gone).exists());
        }
    }

    #[test]
    fn a_temporary_folder_goes_with_its_server() {
        let folder = Folder::temporary().unwrap();
        let root = folder.root.clone();
        assert!(root.join("tmp").is_dir());
        drop(folder);
        assert!(!root.exists());
    }
}
