//! [`Token`]: what identifies an upload or a file, in its URL and on disk.
//!
//! In scope: drawing one (128 bits from the operating system's generator, so that a URL
//! cannot be guessed or derived from another) and its spelling, 32 lower-case hex digits,
//! both ways. Out of scope: what a token stands for (`files`).

use std::fmt;

/// 128 random bits. Its hex spelling is the only name a file has on disk, so nothing a
/// client sends ever becomes part of a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Token([u8; 16]);

impl Token {
    /// A fresh token.
    pub fn new() -> Token {
        let mut bits = [0u8; 16];
        getrandom::fill(&mut bits).expect("the operating system's random generator works");
        Token(bits)
    }

    /// Reads a token as [`Token`]'s `Display` spells it: exactly 32 lower-case hex digits.
    pub fn parse(text: &str) -> Option<Token> {
        let text = text.as_bytes();
        if text.len() != 32 {
            return None;
        }
        let mut bits = [0u8; 16];
        for (byte, pair) in bits.iter_mut().zip(text.chunks_exact(2)) {
            *byte = hex_digit(pair[0])? << 4 | hex_digit(pair[1])?;
        }
        Some(Token(bits))
    }
}

fn hex_digit(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        _ => None,
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|byte| write!(f, "{byte:02x}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_reads_back_from_its_hex_and_nothing_else_reads() {
        let token = Token::new();
        let hex = token.to_string();
        assert_eq!(hex.len(), 32);
        assert_eq!(Token::parse(&hex), Some(token));
        assert_ne!(Token::new(), token, "two tokens drawn are different");
        for bad in [
            "",
            &hex[1..],
            &format!("{hex}0"),
            &hex.to_uppercase(),
            "0123456789abcdef0123456789abcdeg",
            "../../../../../../../../etc/pass",
            "0123456789abcdef0123456789abcd+f",
        ] {
            if bad != hex {
                assert_eq!(Token::parse(bad), None, "{bad:?}");
            }
        }
    }
}
