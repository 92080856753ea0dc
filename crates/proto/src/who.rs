//! `WHO` lists: a list of nicks cut into `WHO` (or `WHO #room`) lines that each fit
//! [`MAX_WHO_LINE`], sorted ignoring case, then the `END WHO` line.
//!
//! In scope: the sorting and the chunking. Out of scope: who is in the list (the server) and
//! how one line is spelled (`reply`).

use crate::names::{Nick, Room};
use crate::reply::Reply;

/// Longest line the server writes in one `WHO` reply, including its `\n`.
pub const MAX_WHO_LINE: usize = 4096;

impl Reply {
    /// The nick list as `WHO` lines of at most [`MAX_WHO_LINE`] bytes each, then `END WHO`.
    /// Nicks are sorted ignoring case, as the contract promises.
    pub fn who_list(nicks: Vec<Nick>) -> Vec<Reply> {
        who_chunks(nicks, "WHO\n".len())
            .into_iter()
            .map(Reply::Who)
            .chain([Reply::EndWho])
            .collect()
    }

    /// A room's member list as `WHO #room` lines of at most [`MAX_WHO_LINE`] bytes each, then
    /// `END WHO #room`, sorted ignoring case like [`Reply::who_list`]. An empty list is the
    /// `END WHO #room` line alone.
    pub fn room_who_list(room: &Room, nicks: Vec<Nick>) -> Vec<Reply> {
        who_chunks(nicks, "WHO \n".len() + room.as_str().len())
            .into_iter()
            .map(|nicks| Reply::RoomWho {
                room: room.clone(),
                nicks,
            })
            .chain([Reply::EndRoomWho(room.clone())])
            .collect()
    }
}

/// Sorts nicks ignoring case and cuts them into the lists of consecutive `WHO` lines, each
/// line at most [`MAX_WHO_LINE`] bytes when its fixed part (`WHO`, the room if any, `\n`) takes
/// `fixed` bytes. No nicks, no lines.
fn who_chunks(mut nicks: Vec<Nick>, fixed: usize) -> Vec<Vec<Nick>> {
    // Unique keys, so an unstable sort gives the one order; a list that comes sorted (a
    // room's members) costs one pass.
    nicks.sort_unstable_by(Nick::cmp_key);
    let mut chunks = Vec::new();
    let mut line: Vec<Nick> = Vec::new();
    let mut line_len = fixed;
    for nick in nicks {
        // Each nick adds a space and itself.
        let added = 1 + nick.as_str().len();
        if !line.is_empty() && line_len + added > MAX_WHO_LINE {
            chunks.push(std::mem::take(&mut line));
            line_len = fixed;
        }
        line_len += added;
        line.push(nick);
    }
    if !line.is_empty() {
        chunks.push(line);
    }
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::MAX_ROOM_LEN;

    fn nick(text: &str) -> Nick {
        Nick::parse(text).unwrap()
    }

    fn room(text: &str) -> Room {
        Room::parse(text).unwrap()
    }

    /// Nicks of many lengths, enough to fill several lines.
    fn many_nicks(count: usize) -> Vec<Nick> {
        (0..count)
            .map(|i| nick(&format!("user{i:05}{}", "x".repeat(i % 23))))
            .collect()
    }

    #[test]
    fn who_list_is_sorted_ignoring_case() {
        let list = Reply::who_list(vec![nick("carol"), nick("Bob"), nick("alice")]);
        assert_eq!(
            list,
            vec![
                Reply::Who(vec![nick("alice"), nick("Bob"), nick("carol")]),
                Reply::EndWho
            ]
        );
    }

    #[test]
    fn who_lines_stay_within_the_limit_and_keep_every_nick() {
        let nicks = many_nicks(2000);
        let list = Reply::who_list(nicks.clone());
        assert!(list.len() > 2);
        assert_eq!(list.last(), Some(&Reply::EndWho));
        let mut seen = 0;
        for reply in &list[..list.len() - 1] {
            let line = reply.to_line();
            assert!(line.len() <= MAX_WHO_LINE, "{} bytes", line.len());
            let Reply::Who(chunk) = reply else {
                panic!("expected WHO, got {reply:?}")
            };
            seen += chunk.len();
        }
        assert_eq!(seen, nicks.len());
    }

    #[test]
    fn room_who_list_is_sorted_ignoring_case() {
        let chat = room("#Chat");
        let list = Reply::room_who_list(&chat, vec![nick("carol"), nick("Bob"), nick("alice")]);
        assert_eq!(
            list,
            vec![
                Reply::RoomWho {
                    room: chat.clone(),
                    nicks: vec![nick("alice"), nick("Bob"), nick("carol")],
                },
                Reply::EndRoomWho(chat)
            ]
        );
    }

    #[test]
    fn empty_who_lists_are_the_end_line_alone() {
        assert_eq!(Reply::who_list(Vec::new()), vec![Reply::EndWho]);
        let a = room("#a");
        assert_eq!(
            Reply::room_who_list(&a, Vec::new()),
            vec![Reply::EndRoomWho(a)]
        );
    }

    #[test]
    fn room_who_lines_stay_within_the_limit_and_keep_every_nick() {
        let longest = room(&format!("#{}", "r".repeat(MAX_ROOM_LEN)));
        let nicks = many_nicks(5000);
        let list = Reply::room_who_list(&longest, nicks.clone());
        assert!(list.len() > 2);
        assert_eq!(list.last(), Some(&Reply::EndRoomWho(longest.clone())));
        let mut seen = Vec::new();
        for reply in &list[..list.len() - 1] {
            let line = reply.to_line();
            assert!(line.len() <= MAX_WHO_LINE, "{} bytes", line.len());
            let Reply::RoomWho { room, nicks } = reply else {
                panic!("expected WHO #room, got {reply:?}")
            };
            assert_eq!(room, &longest);
            // A line is cut only when the next nick would not fit.
            if seen.len() + nicks.len() < 5000 {
                assert!(line.len() + 33 > MAX_WHO_LINE, "{} bytes", line.len());
            }
            seen.extend(nicks.iter().cloned());
        }
        let mut sorted = nicks;
        sorted.sort_by_cached_key(Nick::key);
        assert_eq!(seen, sorted);
    }
}
