//! The text every generated message carries: which client sent it, its sequence number and
//! when it was (meant to be) sent.
//!
//! In scope: encoding a [`Stamp`] as fixed-width lowercase hex with a check byte, padded to the
//! requested size, and decoding it back while rejecting anything else. Pure.
//! Out of scope: the command around it (`ALL`, `MSG`: `sender`) and what receivers do with it
//! (`check`).
//!
//! Layout, 26 bytes then padding: sender (4 hex digits), sequence number (8), send time in
//! microseconds since the run's epoch (12, about 8.9 years), check byte (2), then `.` up to the
//! size. The default 32-byte payload leaves 6 bytes of padding.

use std::fmt;

/// Bytes of the encoded fields; the smallest payload size.
pub const HEADER_LEN: usize = 26;
/// Largest sender index (4 hex digits).
pub const MAX_SENDER: u32 = 0xffff;
/// Largest send time in microseconds (12 hex digits).
const MAX_TIME_US: u64 = (1 << 48) - 1;
const FIELDS_LEN: usize = 24;
const PAD: u8 = b'.';
const HEX: &[u8; 16] = b"0123456789abcdef";

/// What a message says about itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// The sending client's index in the run.
    pub sender: u32,
    /// Numbered from 0 per sender.
    pub seq: u32,
    /// Microseconds since the run's epoch: when the line was sent, or for a paced run when
    /// it was meant to be sent.
    pub sent_us: u64,
}

/// Why a payload was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Corrupt {
    Length,
    NotHex,
    Checksum,
    Padding,
}

impl fmt::Display for Corrupt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Corrupt::Length => "wrong length",
            Corrupt::NotHex => "a field is not lowercase hex",
            Corrupt::Checksum => "check byte mismatch",
            Corrupt::Padding => "bad padding",
        })
    }
}

/// Encodes and decodes payloads of one fixed size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Codec {
    size: usize,
}

impl Codec {
    /// A codec for payloads of `size` bytes; at least [`HEADER_LEN`].
    pub fn new(size: usize) -> Result<Codec, String> {
        if size < HEADER_LEN {
            return Err(format!(
                "a payload needs at least {HEADER_LEN} bytes, not {size}"
            ));
        }
        Ok(Codec { size })
    }

    pub fn size(&self) -> usize {
        self.size
    }

    /// Appends the payload for `stamp` to `out`. Values too large for their field are
    /// truncated to it (a run never gets there: senders and time are checked up front).
    pub fn encode(&self, stamp: Stamp, out: &mut String) {
        let mut fields = [0u8; FIELDS_LEN];
        put_hex(&mut fields[0..4], u64::from(stamp.sender));
        put_hex(&mut fields[4..12], u64::from(stamp.seq));
        put_hex(&mut fields[12..24], stamp.sent_us.min(MAX_TIME_US));
        let mut check = [0u8; 2];
        put_hex(&mut check, u64::from(check_byte(&fields)));
        // Only ASCII hex digits were written.
        out.extend(fields.iter().chain(&check).map(|&b| char::from(b)));
        out.extend(std::iter::repeat_n(char::from(PAD), self.size - HEADER_LEN));
    }

    /// The stamp in `text`, which must be exactly one payload of this size.
    pub fn decode(&self, text: &[u8]) -> Result<Stamp, Corrupt> {
        if text.len() != self.size {
            return Err(Corrupt::Length);
        }
        let (header, padding) = text.split_at(HEADER_LEN);
        let fields: &[u8; FIELDS_LEN] = header[..FIELDS_LEN].try_into().expect("24 bytes");
        let sender = parse_hex(&fields[0..4])?;
        let seq = parse_hex(&fields[4..12])?;
        let sent_us = parse_hex(&fields[12..24])?;
        let check = parse_hex(&header[FIELDS_LEN..])?;
        if check != u64::from(check_byte(fields)) {
            return Err(Corrupt::Checksum);
        }
        if padding.iter().any(|&b| b != PAD) {
            return Err(Corrupt::Padding);
        }
        Ok(Stamp {
            sender: u32::try_from(sender).expect("4 hex digits fit in u32"),
            seq: u32::try_from(seq).expect("8 hex digits fit in u32"),
            sent_us,
        })
    }
}

/// Writes `value` as `out.len()` lowercase hex digits, most significant first.
fn put_hex(out: &mut [u8], mut value: u64) {
    for digit in out.iter_mut().rev() {
        *digit = HEX[(value & 0xf) as usize];
        value >>= 4;
    }
}

/// The value of each byte as a lowercase hex digit, or [`NOT_HEX`]: a table lookup per
/// byte and one check at the end, not a branch per byte (readers decode millions of these).
const HEX_VALUE: [u8; 256] = {
    let mut table = [NOT_HEX; 256];
    let mut digit = 0;
    while digit < 16 {
        table[HEX[digit] as usize] = digit as u8;
        digit += 1;
    }
    table
};
const NOT_HEX: u8 = 0xff;

/// Reads lowercase hex digits only: an upper-case digit is as wrong as any other byte.
fn parse_hex(digits: &[u8]) -> Result<u64, Corrupt> {
    let mut value = 0u64;
    let mut seen = 0u8;
    for &b in digits {
        let nibble = HEX_VALUE[usize::from(b)];
        seen |= nibble;
        value = value << 4 | u64::from(nibble & 0xf);
    }
    if seen & 0xf0 != 0 {
        return Err(Corrupt::NotHex);
    }
    Ok(value)
}

/// A hash of the fields down to a byte. The multiplications make every byte's position
/// count, so swapped digits are caught as well as changed ones.
fn check_byte(fields: &[u8; FIELDS_LEN]) -> u8 {
    const MIX: u64 = 0x9e37_79b9_7f4a_7c15;
    let word = |at: usize| u64::from_le_bytes(fields[at..at + 8].try_into().expect("8 bytes"));
    let hash =
        ((word(0).wrapping_mul(MIX) ^ word(8)).wrapping_mul(MIX) ^ word(16)).wrapping_mul(MIX);
    (hash >> 56) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(codec: Codec, stamp: Stamp) -> String {
        let mut text = String::new();
        codec.encode(stamp, &mut text);
        text
    }

    const STAMP: Stamp = Stamp {
        sender: 7,
        seq: 123_456,
        sent_us: 9_876_543_210,
    };

    #[test]
    fn round_trips_at_the_default_and_larger_sizes() {
        for size in [HEADER_LEN, 32, 100, 4000] {
            let codec = Codec::new(size).unwrap();
            let text = encoded(codec, STAMP);
            assert_eq!(text.len(), size);
            assert_eq!(codec.decode(text.as_bytes()), Ok(STAMP));
        }
    }

    #[test]
    fn the_default_size_looks_as_documented() {
        let text = encoded(Codec::new(32).unwrap(), STAMP);
        assert!(text.starts_with("00070001e24000024cb016ea"), "{text}");
        assert!(text.ends_with("......"), "{text}");
    }

    #[test]
    fn extremes_round_trip() {
        let codec = Codec::new(32).unwrap();
        for stamp in [
            Stamp {
                sender: 0,
                seq: 0,
                sent_us: 0,
            },
            Stamp {
                sender: MAX_SENDER,
                seq: u32::MAX,
                sent_us: MAX_TIME_US,
            },
        ] {
            assert_eq!(codec.decode(encoded(codec, stamp).as_bytes()), Ok(stamp));
        }
    }

    #[test]
    fn too_small_a_size_is_refused() {
        assert!(Codec::new(HEADER_LEN - 1).is_err());
    }

    #[test]
    fn garbage_is_rejected() {
        let codec = Codec::new(32).unwrap();
        let good = encoded(codec, STAMP).into_bytes();
        let with = |at: usize, byte: u8| {
            let mut bad = good.clone();
            bad[at] = byte;
            bad
        };
        assert_eq!(codec.decode(&good[..31]), Err(Corrupt::Length));
        assert_eq!(codec.decode(b"hello"), Err(Corrupt::Length));
        assert_eq!(codec.decode(&[b'x'; 32]), Err(Corrupt::NotHex));
        assert_eq!(codec.decode(&with(3, b'A')), Err(Corrupt::NotHex));
        assert_eq!(codec.decode(&with(10, b'0')), Err(Corrupt::Checksum));
        assert_eq!(codec.decode(&with(31, b'x')), Err(Corrupt::Padding));
        // Two swapped digits keep the byte sum but not the check byte.
        let mut swapped = good.clone();
        swapped.swap(7, 8);
        assert_ne!(swapped, good);
        assert_eq!(codec.decode(&swapped), Err(Corrupt::Checksum));
    }
}
