//! Registered rooms that outlive every node of a cluster: the rooms bucket (`chatd_rooms`)
//! keeps each one's lasting part (name, owner account, topic, key, privacy, and the stream's
//! sequence its history starts after), as the stream's order left it.
//!
//! In scope: the bucket's records (pure: [`record`], [`parse_record`]), saving one at the
//! stream's sequence of the change (every node saves what it carried out; the newest
//! sequence wins, so nodes that save late or twice never undo a later change), and the
//! registered rooms a node takes when no running node tells it the rooms. Out of scope:
//! which change makes a record (`registry::clustered_rooms`), the rooms themselves (`rooms`).
//!
//! A record is `AT <sequence>` followed by the room as an image without members
//! ([`encode_rooms`]), or by `GONE` once its owner account was deleted.

use async_nats::jetstream::kv::{self, CreateErrorKind, Operation, UpdateErrorKind};
use chatd_proto::{NickKey, Room};
use futures_util::StreamExt;

use crate::server::cluster::event::{decode_rooms, encode_rooms, room_key};
use crate::server::cluster_link::RoomImage;

/// How many times a save reads the record again after another node's write came between.
const SAVE_TRIES: usize = 8;

/// The record of a registered room as the command at stream sequence `at` left it, or of
/// its end (`None`: its owner account was deleted there).
pub fn record(at: u64, room: Option<&RoomImage>) -> String {
    let mut out = format!("AT {at}");
    match room {
        Some(room) => encode_rooms(std::slice::from_ref(room), &mut out),
        None => out.push_str("\nGONE"),
    }
    out
}

/// The sequence and room of a record [`record`] wrote (`None` for a room that ended, or one
/// that is not registered); `None` for a value that is not one of ours.
pub fn parse_record(value: &[u8]) -> Option<(u64, Option<RoomImage>)> {
    let text = std::str::from_utf8(value).ok()?;
    let (head, rest) = text.split_once('\n')?;
    let at = head.strip_prefix("AT ")?.parse().ok()?;
    if rest == "GONE" {
        return Some((at, None));
    }
    let mut rooms = decode_rooms(rest).ok()?;
    let room = rooms
        .pop()
        .filter(|room| rooms.is_empty() && room.members.is_empty())?;
    Some((at, Some(room).filter(|room| room.registered.is_some())))
}

/// Saves `room`'s record as the command at stream sequence `at` left it (`lasting`: its
/// image, or `None` once its owner account was deleted), unless the bucket holds a record
/// of that sequence or a later one already. A failure is logged: the nodes that run keep
/// the room all the same, and the next change saves it whole.
pub async fn save(bucket: kv::Store, at: u64, room: Room, lasting: Option<RoomImage>) {
    let key = room_key(&room);
    let value = record(at, lasting.as_ref());
    for _ in 0..SAVE_TRIES {
        let entry = match bucket.entry(&key).await {
            Ok(entry) => entry.filter(|entry| entry.operation == Operation::Put),
            Err(error) => return log::warn!("could not save registered room {room}: {error}"),
        };
        // `Ok(false)`: another write came between the read and this one.
        let written = match entry {
            Some(entry) => {
                let saved_at = parse_record(&entry.value).map(|(saved_at, _)| saved_at);
                if saved_at.is_some_and(|saved_at| saved_at >= at) {
                    return;
                }
                match bucket
                    .update(&key, value.clone().into(), entry.revision)
                    .await
                {
                    Ok(_) => Ok(true),
                    Err(error) if error.kind() == UpdateErrorKind::WrongLastRevision => Ok(false),
                    Err(error) => Err(error.to_string()),
                }
            }
            None => match bucket.create(&key, value.clone().into()).await {
                Ok(_) => Ok(true),
                Err(error) if error.kind() == CreateErrorKind::AlreadyExists => Ok(false),
                Err(error) => Err(error.to_string()),
            },
        };
        match written {
            Ok(true) => return,
            Ok(false) => {}
            Err(error) => return log::warn!("could not save registered room {room}: {error}"),
        }
    }
    log::warn!("could not save registered room {room}: other nodes kept writing it");
}

/// The registered rooms the bucket holds whose owner account is among `accounts`: what a
/// node has of the rooms when no running node tells it more. (A room whose end no node could
/// save stays in the bucket; its owner account is gone then, so it is not brought back for
/// whoever makes an account of that name later.)
pub async fn load(
    bucket: &kv::Store,
    accounts: impl Fn(&NickKey) -> bool,
) -> Result<Vec<RoomImage>, async_nats::Error> {
    let mut keys = bucket.keys().await?;
    let mut found = Vec::new();
    while let Some(key) = keys.next().await {
        let Some(value) = bucket.get(key?).await? else {
            continue;
        };
        if let Some((_, Some(room))) = parse_record(&value) {
            let owned = room
                .registered
                .as_ref()
                .is_some_and(|owner| accounts(&owner.key()));
            if owned {
                found.push(room);
            }
        }
    }
    Ok(found)
}
