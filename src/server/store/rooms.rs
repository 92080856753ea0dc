//! Registered rooms in the database: the `rooms` table's rows ([`RoomRecord`]), written by
//! the store thread and read back when a server starts.
//!
//! In scope: saving a room's row (its name, owner account, topic, key, privacy and
//! conversation number), deleting it, and loading every row whose owner account still
//! exists. Out of scope: the rules of registered rooms (`rooms`), when a row is saved (the
//! registry), the schema (`schema`: the table and the triggers that delete a room with its
//! account).

use rusqlite::{Connection, params};

/// A registered room as the database keeps it: what a restarted server needs to give it back
/// as its owner left it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomRecord {
    /// The name folded to lower case: the row's key.
    pub name_key: String,
    /// The name as its creator typed it.
    pub name: String,
    /// The owner account's key (its nick folded to lower case).
    pub owner: String,
    /// The owner account's nick as registered: filled in by [`load`], ignored by [`save`].
    pub owner_nick: String,
    /// Who set the topic, and its text.
    pub topic: Option<(String, String)>,
    pub key: Option<String>,
    pub private: bool,
    /// The room's conversation: its lines in `chunks`.
    pub conversation: u64,
}

/// Saves `room`'s row, replacing an older one of the same name.
pub fn save(connection: &Connection, room: &RoomRecord) -> rusqlite::Result<()> {
    let (setter, topic) = match &room.topic {
        Some((setter, text)) => (Some(setter.as_str()), Some(text.as_str())),
        None => (None, None),
    };
    connection
        .prepare_cached(
            "INSERT INTO rooms (name_key, name, owner, topic_setter, topic, room_key, private, \
             conversation) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) \
             ON CONFLICT (name_key) DO UPDATE SET name = excluded.name, owner = excluded.owner, \
             topic_setter = excluded.topic_setter, topic = excluded.topic, \
             room_key = excluded.room_key, private = excluded.private, \
             conversation = excluded.conversation",
        )?
        .execute(params![
            room.name_key,
            room.name,
            room.owner,
            setter,
            topic,
            room.key,
            room.private,
            room.conversation
        ])?;
    Ok(())
}

/// Deletes the row of the room whose name folds to `name_key` (its lines are deleted when
/// the room is forgotten, or at the next start).
pub fn delete(connection: &Connection, name_key: &str) -> rusqlite::Result<()> {
    connection
        .prepare_cached("DELETE FROM rooms WHERE name_key = ?1")?
        .execute(params![name_key])?;
    Ok(())
}

/// Every registered room whose owner account exists, after deleting the others' rows (an
/// owner deleted while a save was on its way).
pub fn load(connection: &Connection) -> rusqlite::Result<Vec<RoomRecord>> {
    connection.execute(
        "DELETE FROM rooms WHERE owner NOT IN (SELECT nick_key FROM accounts)",
        [],
    )?;
    let mut statement = connection.prepare(
        "SELECT rooms.name, rooms.owner, accounts.nick, rooms.topic_setter, rooms.topic, \
         rooms.room_key, rooms.private, rooms.conversation, rooms.name_key \
         FROM rooms JOIN accounts ON accounts.nick_key = rooms.owner ORDER BY rooms.name_key",
    )?;
    let rows = statement.query_map([], |row| {
        let setter: Option<String> = row.get(3)?;
        let text: Option<String> = row.get(4)?;
        Ok(RoomRecord {
            name_key: row.get(8)?,
            name: row.get(0)?,
            owner: row.get(1)?,
            owner_nick: row.get(2)?,
            topic: setter.zip(text),
            key: row.get(5)?,
            private: row.get(6)?,
            conversation: row.get(7)?,
        })
    })?;
    rows.collect()
}
