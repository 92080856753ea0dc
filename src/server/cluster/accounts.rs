//! Accounts shared by the nodes of a cluster: every account's record (nick, Argon2id hash,
//! creation time) in the accounts bucket, each node's book a copy of it.
//!
//! In scope: making, re-hashing and deleting a record as atomic operations on the bucket,
//! each at the revision it read (the book's [`SharedBook`], called on a verification thread,
//! which waits here for NATS), a deletion after it told the stream the account's rooms are
//! disowned; the records a node had before it joined, shared when the
//! bucket lacks them; and the watch that brings every node's changes into this node's book.
//! Out of scope: hashing and checking passwords (`accounts`), the claims of nicks (`nicks`).
//!
//! A password hash is all a record holds of a password; it travels to NATS, as it is stored
//! on disk, and nothing of it is logged.

use std::sync::Arc;

use async_nats::jetstream::{
    self,
    kv::{self, CreateErrorKind, Operation, UpdateErrorKind},
};
use chatd_proto::Nick;
use futures_util::StreamExt;

use crate::server::accounts::{Account, Accounts, Refused, SharedBook};
use crate::server::cluster::engine::{Engine, REQUEST_WAIT};
use crate::server::cluster::event::{Event, account_record, nick_key, parse_account};
use crate::server::cluster_link::NodeId;

/// The bucket as the book's shared copy.
pub struct BucketBook {
    pub accounts: kv::Store,
    /// Where a deletion disowns the account's registered rooms, first.
    pub stream: jetstream::Context,
    /// Who says so on the stream: this node (an operator's command: a node id of its own).
    pub by: NodeId,
    pub runtime: tokio::runtime::Handle,
}

impl BucketBook {
    /// Runs `change` on the runtime from a verification thread, at most [`REQUEST_WAIT`]; an
    /// error or no answer is a refusal (`Store`), logged.
    fn run<F>(&self, what: &str, change: F) -> Result<(), Refused>
    where
        F: std::future::Future<Output = Result<(), Refused>>,
    {
        let timed = async { tokio::time::timeout(REQUEST_WAIT, change).await };
        match self.runtime.block_on(timed) {
            Ok(result) => result,
            Err(_) => {
                log::warn!("the cluster did not answer a change of an account ({what}) in time");
                Err(Refused::Store)
            }
        }
    }
}

/// The record of `key` if its hash is still `checked`; `Changed` if it is gone or another
/// change came first.
async fn checked_entry(
    accounts: &async_nats::jetstream::kv::Store,
    key: &str,
    checked: &str,
    what: &str,
) -> Result<async_nats::jetstream::kv::Entry, Refused> {
    let entry = accounts
        .entry(key)
        .await
        .map_err(|error| failed(what, error))?;
    let entry = entry
        .filter(|entry| entry.operation == Operation::Put)
        .ok_or(Refused::Changed)?;
    let current = parse_account(&entry.value).ok_or(Refused::Changed)?;
    if *current.hash != *checked {
        return Err(Refused::Changed);
    }
    Ok(entry)
}

/// A refusal for an error of the bucket, logged.
fn failed(what: &str, error: impl std::fmt::Display) -> Refused {
    log::warn!("the cluster refused a change of an account ({what}): {error}");
    Refused::Store
}

impl SharedBook for BucketBook {
    fn create(&self, account: &Account) -> Result<(), Refused> {
        let key = nick_key(&account.nick);
        let value = account_record(account);
        let accounts = &self.accounts;
        self.run("register", async move {
            match accounts.create(&key, value.into()).await {
                Ok(_) => Ok(()),
                Err(error) if error.kind() == CreateErrorKind::AlreadyExists => {
                    let holder = accounts.get(&key).await.ok().flatten();
                    let nick = holder.and_then(|value| parse_account(&value));
                    Err(nick.map_or(Refused::Changed, |account| Refused::Taken(account.nick)))
                }
                Err(error) => Err(failed("register", error)),
            }
        })
    }

    fn replace(&self, account: &Account, checked: &str) -> Result<(), Refused> {
        let key = nick_key(&account.nick);
        let value = account_record(account);
        let accounts = &self.accounts;
        self.run("password", async move {
            let entry = checked_entry(accounts, &key, checked, "password").await?;
            match accounts.update(&key, value.into(), entry.revision).await {
                Ok(_) => Ok(()),
                Err(error) if error.kind() == UpdateErrorKind::WrongLastRevision => {
                    Err(Refused::Changed)
                }
                Err(error) => Err(failed("password", error)),
            }
        })
    }

    fn delete(&self, nick: &Nick, checked: &str) -> Result<(), Refused> {
        let key = nick_key(nick);
        let accounts = &self.accounts;
        let disowned = Event::Disowned {
            by: self.by.clone(),
            account: nick.clone(),
        };
        let stream = &self.stream;
        self.run("unregister", async move {
            let entry = checked_entry(accounts, &key, checked, "unregister").await?;
            // The rooms first, at one point of the stream for every node: an account whose
            // rooms could not be disowned is not deleted (a later account of the name would
            // own them), while rooms disowned for a deletion that then fails only lose their
            // registration.
            let (subject, payload) = disowned.encode();
            let ack = stream
                .publish(subject, payload.into())
                .await
                .map_err(|error| failed("unregister", error))?;
            ack.await.map_err(|error| failed("unregister", error))?;
            accounts
                .delete_expect_revision(&key, Some(entry.revision))
                .await
                .map_err(|_| Refused::Changed)
        })
    }
}

/// Shares the accounts this node had before it joined and the bucket lacks; where the
/// bucket has an account of the same nick, the bucket's stands (the watch brings it here).
pub async fn share_local(engine: &Engine, accounts: &Accounts) -> Result<(), async_nats::Error> {
    for account in accounts.all() {
        let key = nick_key(&account.nick);
        match engine
            .accounts
            .create(&key, account_record(&account).into())
            .await
        {
            Ok(_) => {}
            Err(error) if error.kind() == CreateErrorKind::AlreadyExists => {}
            Err(error) => return Err(error.into()),
        }
    }
    Ok(())
}

/// Every record of the bucket now: what a node starting into a running cluster knows of the
/// accounts before its first client.
pub async fn load(accounts: &kv::Store) -> Result<Vec<Account>, async_nats::Error> {
    let mut keys = accounts.keys().await?;
    let mut found = Vec::new();
    while let Some(key) = keys.next().await {
        if let Some(account) = accounts.get(key?).await?.as_deref().and_then(parse_account) {
            found.push(account);
        }
    }
    Ok(found)
}

/// Brings every record of the bucket, then every change to it, into this node's book, for
/// as long as the runtime runs.
pub async fn mirror(engine: Arc<Engine>, accounts: Accounts) {
    loop {
        match engine.accounts.watch_with_history(">").await {
            Ok(mut changes) => {
                while let Some(change) = changes.next().await {
                    let Ok(entry) = change else {
                        break;
                    };
                    let account = match entry.operation {
                        Operation::Put => parse_account(&entry.value),
                        Operation::Delete | Operation::Purge => None,
                    };
                    let Some(key) = key_of(&entry.key, account.as_ref()) else {
                        continue;
                    };
                    let accounts = accounts.clone();
                    // The book writes to its database: not on the runtime's threads.
                    let applied = tokio::task::spawn_blocking(move || {
                        accounts.apply_shared(&key, account);
                    });
                    let _ = applied.await;
                }
                log::warn!("the cluster's accounts watch ended; watching again");
            }
            Err(error) => log::warn!("the cluster's accounts cannot be watched: {error}"),
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
}

/// The nick key a bucket key names: from the account itself when there is one, else
/// decoded from the key's hex.
fn key_of(key: &str, account: Option<&Account>) -> Option<chatd_proto::NickKey> {
    if let Some(account) = account {
        return Some(account.nick.key());
    }
    let bytes: Option<Vec<u8>> = (0..key.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(key.get(at..at + 2)?, 16).ok())
        .collect();
    let text = String::from_utf8(bytes?).ok()?;
    Nick::parse(&text).ok().map(|nick| nick.key())
}
