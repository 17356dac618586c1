//! Norms written with units: `90m`, `4h`, `3d`, `1h30m`.

/// Working minutes in one norm day (`d`): a working day is 8 working hours, so `3d`
/// means 24 working hours, not 72 calendar hours.
pub const WORKING_DAY_MINUTES: i64 = 8 * 60;

/// Why a norm could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NormError {
    /// Nothing was written.
    #[error("empty norm: write e.g. 90m, 4h or 3d")]
    Empty,
    /// A number without a unit.
    #[error(
        "norm `{0}` has no unit: write m (minutes), h (hours) or d (working days of 8h), e.g. 4h"
    )]
    NoUnit(String),
    /// A unit other than m, h or d.
    #[error(
        "norm `{0}` has an unknown unit `{1}`: use m (minutes), h (hours) or d (working days of 8h)"
    )]
    BadUnit(String, String),
    /// Anything else that does not read as `<number><unit>...`.
    #[error("bad norm `{0}`: write a whole number and a unit, e.g. 90m, 4h, 3d or 1h30m")]
    Syntax(String),
    /// A norm of zero would make every deadline already due.
    #[error("norm `{0}` must be longer than zero")]
    Zero(String),
}

/// Reads a norm as working minutes. Parts may be combined (`1d4h`, `1h30m`); units
/// are `m` (minutes), `h` (hours) and `d` (working days of [`WORKING_DAY_MINUTES`]).
pub fn parse_norm_minutes(text: &str) -> Result<i64, NormError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(NormError::Empty);
    }
    let mut rest = trimmed;
    let mut total: i64 = 0;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(NormError::Syntax(text.to_string()));
        }
        let number: i64 = rest[..digits]
            .parse()
            .map_err(|_| NormError::Syntax(text.to_string()))?;
        rest = rest[digits..].trim_start();
        let unit_len = rest
            .chars()
            .take_while(|c| c.is_alphabetic())
            .map(char::len_utf8)
            .sum();
        let unit = &rest[..unit_len];
        let scale = match unit {
            "" if rest.is_empty() => return Err(NormError::NoUnit(text.to_string())),
            "" => return Err(NormError::Syntax(text.to_string())),
            "m" | "min" => 1,
            "h" => 60,
            "d" => WORKING_DAY_MINUTES,
            other => return Err(NormError::BadUnit(text.to_string(), other.to_string())),
        };
        total = number
            .checked_mul(scale)
            .and_then(|minutes| total.checked_add(minutes))
            .ok_or_else(|| NormError::Syntax(text.to_string()))?;
        rest = rest[unit_len..].trim_start();
    }
    if total == 0 {
        return Err(NormError::Zero(text.to_string()));
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_units() {
        assert_eq!(parse_norm_minutes("90m"), Ok(90));
        assert_eq!(parse_norm_minutes("2h"), Ok(120));
        assert_eq!(parse_norm_minutes("3d"), Ok(3 * 480));
        assert_eq!(parse_norm_minutes("1h30m"), Ok(90));
        assert_eq!(parse_norm_minutes(" 1d 4h "), Ok(720));
    }

    #[test]
    fn rejects_bad_norms() {
        assert!(matches!(parse_norm_minutes("4"), Err(NormError::NoUnit(_))));
        assert!(matches!(
            parse_norm_minutes("1h30"),
            Err(NormError::NoUnit(_))
        ));
        assert!(
            matches!(parse_norm_minutes("4w"), Err(NormError::BadUnit(_, unit)) if unit == "w")
        );
        assert!(matches!(
            parse_norm_minutes("4 часа"),
            Err(NormError::BadUnit(_, _))
        ));
        assert!(matches!(
            parse_norm_minutes("h4"),
            Err(NormError::Syntax(_))
        ));
        assert!(matches!(parse_norm_minutes("0h"), Err(NormError::Zero(_))));
        assert_eq!(parse_norm_minutes(""), Err(NormError::Empty));
    }
}
