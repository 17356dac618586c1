//! License key generation for the `issue_license_key` action: pure, the caller supplies
//! the randomness.

/// The characters an `X` in a key format becomes: digits and capitals without the look-alikes
/// 0/O, 1/I/L.
pub const KEY_ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";

/// A key format is valid when it has at least one `X` placeholder.
pub fn is_valid_format(format: &str) -> bool {
    format.contains('X')
}

/// Generates a key from `format`: every `X` becomes a character of [`KEY_ALPHABET`] chosen
/// by `next_random`; every other character is kept (`"OKNO-XXXX-XXXX"` → `"OKNO-7KQ2-M9TA"`).
pub fn generate_key(format: &str, mut next_random: impl FnMut() -> u32) -> String {
    format
        .chars()
        .map(|c| {
            if c == 'X' {
                let index = next_random() as usize % KEY_ALPHABET.len();
                KEY_ALPHABET[index] as char
            } else {
                c
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_literals_and_fills_placeholders() {
        let mut n = 0;
        let key = generate_key("OKNO-XXXX-XX", || {
            n += 1;
            n
        });
        assert_eq!(key, "OKNO-3456-78");
    }

    #[test]
    fn same_random_source_same_key() {
        let seeded = |seed: u32| {
            let mut s = seed;
            move || {
                s = s.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                s >> 8
            }
        };
        assert_eq!(
            generate_key("XXXX-XXXX", seeded(7)),
            generate_key("XXXX-XXXX", seeded(7))
        );
        assert_ne!(
            generate_key("XXXX-XXXX", seeded(7)),
            generate_key("XXXX-XXXX", seeded(8))
        );
    }

    #[test]
    fn format_needs_a_placeholder() {
        assert!(is_valid_format("OKNO-XXXX"));
        assert!(!is_valid_format("OKNO-0000"));
    }
}
