//! Exact decimal numbers as text: a JSON or XSD numeral is read into its digits and a power of ten,
//! never into an `f64`, so account numbers and amounts keep every digit on their way through the
//! gateway. Used where a number must take an XSD type's lexical form (`1e2` into `xs:int` is `100`,
//! `1.5e-3` into `xs:decimal` is `0.0015`), by the validator that checks ranges, and by the
//! `format_number` template helper.

use std::cmp::Ordering;

/// Most digits a number may have once written without an exponent (`1e400000` would otherwise be
/// 400,000 characters of zeros). Far beyond any `xs:decimal` implementation's precision.
pub const MAX_PLAIN_DIGITS: usize = 1000;

/// Exponents are clamped to this magnitude when read (numerals are at most a few thousand
/// characters, so coefficient lengths never come near it).
const EXPONENT_BOUND: i64 = 1 << 40;

/// A finite decimal: `(-1)^negative × coefficient × 10^exponent`, the coefficient without leading or
/// trailing zeros (empty for zero).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decimal {
    negative: bool,
    coefficient: Vec<u8>,
    exponent: i64,
}

/// Why a numeral cannot be written in the form asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unfit {
    /// Not an integer (for integer types).
    Fraction,
    /// More than [`MAX_PLAIN_DIGITS`] digits without an exponent.
    TooLong,
}

impl Decimal {
    /// Reads `[+-]?(digits)?(.digits)?([eE][+-]?digits)?` with at least one mantissa digit: JSON
    /// numbers and the XSD decimal, integer, float and double numerals (not `INF` or `NaN`).
    pub fn parse(text: &str) -> Option<Decimal> {
        let (negative, rest) = match text.as_bytes().first()? {
            b'-' => (true, &text[1..]),
            b'+' => (false, &text[1..]),
            _ => (false, text),
        };
        let (mantissa, exp_text) = match rest.find(['e', 'E']) {
            Some(i) => (&rest[..i], Some(&rest[i + 1..])),
            None => (rest, None),
        };
        let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        if int.is_empty() && frac.is_empty() {
            return None;
        }
        if !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
            return None;
        }
        let mut exponent = match exp_text {
            None => 0i64,
            Some(e) => parse_exponent(e)?,
        };
        // Far beyond MAX_PLAIN_DIGITS either way, and far from i64's ends: every later sum and
        // negation stays exact.
        exponent = exponent.clamp(-EXPONENT_BOUND, EXPONENT_BOUND);
        let mut coefficient: Vec<u8> = int.bytes().chain(frac.bytes()).map(|b| b - b'0').collect();
        exponent -= frac.len() as i64;
        let lead = coefficient.iter().take_while(|d| **d == 0).count();
        coefficient.drain(..lead);
        while coefficient.last() == Some(&0) {
            coefficient.pop();
            exponent = exponent.saturating_add(1);
        }
        if coefficient.is_empty() {
            exponent = 0;
        }
        Some(Decimal {
            negative,
            coefficient,
            exponent,
        })
    }

    /// True for zero (of either sign).
    pub fn is_zero(&self) -> bool {
        self.coefficient.is_empty()
    }

    /// True when there is no fractional part.
    pub fn is_integer(&self) -> bool {
        self.exponent >= 0
    }

    /// Digits before the point when written plainly (0 for numbers below one).
    fn integer_digits(&self) -> i64 {
        (self.coefficient.len() as i64)
            .saturating_add(self.exponent)
            .max(0)
    }

    /// Digits written plainly: integer part (at least one) plus fraction.
    fn plain_digits(&self) -> u64 {
        let frac = (-self.exponent).max(0) as u64;
        (self.integer_digits().max(1) as u64).saturating_add(frac)
    }

    /// The `xs:decimal` form: no exponent, `-` for negatives, a fraction only when there is one
    /// (`0.0000001`, `12345678901234567890.123456789`, `100`).
    pub fn to_plain(&self) -> Result<String, Unfit> {
        if self.plain_digits() > MAX_PLAIN_DIGITS as u64 {
            return Err(Unfit::TooLong);
        }
        let mut out = String::with_capacity(self.plain_digits() as usize + 2);
        if self.negative && !self.is_zero() {
            out.push('-');
        }
        let digits: String = self.coefficient.iter().map(|d| char::from(b'0' + d)).collect();
        if self.exponent >= 0 {
            if self.is_zero() {
                out.push('0');
            } else {
                out.push_str(&digits);
                out.extend(std::iter::repeat_n('0', self.exponent as usize));
            }
            return Ok(out);
        }
        let point = self.coefficient.len() as i64 + self.exponent;
        if point <= 0 {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', (-point) as usize));
            out.push_str(&digits);
        } else {
            let (int, frac) = digits.split_at(point as usize);
            out.push_str(int);
            out.push('.');
            out.push_str(frac);
        }
        Ok(out)
    }

    /// The XSD integer form (`1e2` is `100`, `-0` is `0`); a fraction is refused, never rounded.
    pub fn to_integer(&self) -> Result<String, Unfit> {
        if !self.is_integer() {
            return Err(Unfit::Fraction);
        }
        self.to_plain()
    }

    /// Compares with an integer bound.
    pub fn cmp_i128(&self, bound: i128) -> Ordering {
        let b = Decimal::parse(&bound.to_string()).unwrap_or(Decimal {
            negative: false,
            coefficient: Vec::new(),
            exponent: 0,
        });
        self.cmp_value(&b)
    }

    /// Numeric comparison (`-0` equals `0`, `1.0` equals `1e0`).
    pub fn cmp_value(&self, other: &Decimal) -> Ordering {
        match (self.is_zero(), other.is_zero()) {
            (true, true) => return Ordering::Equal,
            (true, false) => {
                return if other.negative {
                    Ordering::Greater
                } else {
                    Ordering::Less
                }
            }
            (false, true) => {
                return if self.negative {
                    Ordering::Less
                } else {
                    Ordering::Greater
                }
            }
            _ => {}
        }
        match (self.negative, other.negative) {
            (false, true) => return Ordering::Greater,
            (true, false) => return Ordering::Less,
            _ => {}
        }
        let magnitude = self.cmp_magnitude(other);
        if self.negative {
            magnitude.reverse()
        } else {
            magnitude
        }
    }

    /// Compares absolute values of two non-zero numbers.
    fn cmp_magnitude(&self, other: &Decimal) -> Ordering {
        // The position of the leading digit decides first, then the digits from the left.
        let lead = |d: &Decimal| (d.coefficient.len() as i64).saturating_add(d.exponent);
        match lead(self).cmp(&lead(other)) {
            Ordering::Equal => {}
            o => return o,
        }
        let n = self.coefficient.len().max(other.coefficient.len());
        for i in 0..n {
            let a = self.coefficient.get(i).copied().unwrap_or(0);
            let b = other.coefficient.get(i).copied().unwrap_or(0);
            match a.cmp(&b) {
                Ordering::Equal => {}
                o => return o,
            }
        }
        Ordering::Equal
    }

    /// Rounded to `places` fraction digits, halves away from zero, written plainly with exactly
    /// `places` fraction digits (`format_number`): `2.675` to 2 places is `2.68`, not `2.67` as
    /// through an `f64`.
    pub fn to_fixed(&self, places: u32) -> Result<String, Unfit> {
        let places = i64::from(places);
        let mut d = self.clone();
        if d.exponent < -places {
            // Drop the digits beyond `places`, rounding on the first dropped one.
            let drop = (-places - d.exponent) as usize;
            let len = d.coefficient.len();
            // The first dropped digit; beyond the coefficient it is one of the implicit leading zeros.
            let round_up = drop <= len && d.coefficient.get(len - drop).is_some_and(|x| *x >= 5);
            let keep = len.saturating_sub(drop);
            d.coefficient.truncate(keep);
            d.exponent = -places;
            if round_up {
                increment(&mut d.coefficient);
            }
            if d.coefficient.is_empty() {
                d.exponent = 0;
            }
        }
        let plain = d.to_plain()?;
        let (sign, body) = match plain.strip_prefix('-') {
            Some(b) => ("-", b),
            None => ("", plain.as_str()),
        };
        let (int, frac) = body.split_once('.').unwrap_or((body, ""));
        let mut out = format!("{sign}{int}");
        if places > 0 {
            out.push('.');
            out.push_str(frac);
            out.extend(std::iter::repeat_n('0', places as usize - frac.len()));
        }
        if d.is_zero() && out.starts_with('-') {
            out.remove(0);
        }
        Ok(out)
    }
}

/// Adds one to a coefficient's last digit, carrying (`999` becomes `1000`).
fn increment(c: &mut Vec<u8>) {
    for d in c.iter_mut().rev() {
        if *d == 9 {
            *d = 0;
        } else {
            *d += 1;
            return;
        }
    }
    c.insert(0, 1);
}

/// An exponent's digits; absurd exponents saturate (they are refused later as too long).
fn parse_exponent(e: &str) -> Option<i64> {
    let (neg, digits) = match e.as_bytes().first()? {
        b'-' => (true, &e[1..]),
        b'+' => (false, &e[1..]),
        _ => (false, e),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let v = digits.bytes().fold(0i64, |acc, b| {
        acc.saturating_mul(10).saturating_add(i64::from(b - b'0'))
    });
    Some(if neg { -v } else { v })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(s: &str) -> String {
        Decimal::parse(s).expect("numeral").to_plain().expect("fits")
    }

    #[test]
    fn v1_plain_form_keeps_every_digit() {
        assert_eq!(plain("99999999999999999999"), "99999999999999999999");
        assert_eq!(plain("12345678901234567.5"), "12345678901234567.5");
        assert_eq!(plain("0.0000001"), "0.0000001");
        assert_eq!(plain("1e-7"), "0.0000001");
        assert_eq!(plain("1e2"), "100");
        assert_eq!(plain("1.50"), "1.5");
        assert_eq!(plain("-0"), "0");
        assert_eq!(plain("-1.25E+3"), "-1250");
        assert_eq!(
            plain("12345678901234567890.123456789"),
            "12345678901234567890.123456789"
        );
        assert_eq!(plain("+.5"), "0.5");
        assert_eq!(plain("5."), "5");
    }

    #[test]
    fn v3_integers_refuse_fractions_and_absurd_lengths() {
        let int = |s: &str| Decimal::parse(s).expect("numeral").to_integer();
        assert_eq!(int("1e2"), Ok("100".into()));
        assert_eq!(int("1.0"), Ok("1".into()));
        assert_eq!(int("1.5"), Err(Unfit::Fraction));
        assert_eq!(int("1e-1"), Err(Unfit::Fraction));
        assert_eq!(int("1e400000"), Err(Unfit::TooLong));
        assert_eq!(int("1e99999999999999999999999"), Err(Unfit::TooLong));
        for extreme in [
            "1e-99999999999999999999999",
            "0.5e-9223372036854775808",
            "9e9223372036854775807",
        ] {
            let d = Decimal::parse(extreme).expect("numeral");
            assert_eq!(d.to_plain(), Err(Unfit::TooLong), "{extreme}");
            let _ = d.to_fixed(18);
            let _ = d.cmp_i128(i128::MAX);
        }
        assert_eq!(
            Decimal::parse("1e-99999999999999999999999")
                .expect("n")
                .to_fixed(2),
            Ok("0.00".into())
        );
        assert!(Decimal::parse("1e").is_none());
        assert!(Decimal::parse(".").is_none());
        assert!(Decimal::parse("0x10").is_none());
        assert!(Decimal::parse("").is_none());
    }

    #[test]
    fn comparison_is_numeric() {
        let d = |s: &str| Decimal::parse(s).expect("numeral");
        assert_eq!(d("2147483648").cmp_i128(2147483647), Ordering::Greater);
        assert_eq!(d("2147483647").cmp_i128(2147483647), Ordering::Equal);
        assert_eq!(d("-2147483649").cmp_i128(-2147483648), Ordering::Less);
        assert_eq!(d("1e2").cmp_value(&d("100.000")), Ordering::Equal);
        assert_eq!(d("-0").cmp_value(&d("0")), Ordering::Equal);
        assert_eq!(d("0.5").cmp_i128(0), Ordering::Greater);
        assert_eq!(d("-0.5").cmp_i128(0), Ordering::Less);
        assert_eq!(d("99.9").cmp_i128(100), Ordering::Less);
    }

    #[test]
    fn fixed_rounds_decimally() {
        let f = |s: &str, p| Decimal::parse(s).expect("numeral").to_fixed(p).expect("fits");
        assert_eq!(f("2.675", 2), "2.68");
        assert_eq!(f("1.005", 2), "1.01");
        assert_eq!(f("9.995", 2), "10.00");
        assert_eq!(f("-0.004", 2), "0.00");
        assert_eq!(f("-0.005", 2), "-0.01");
        assert_eq!(f("12345678901234567890.1", 0), "12345678901234567890");
        assert_eq!(f("3", 3), "3.000");
        assert_eq!(f("1e-7", 2), "0.00");
        assert_eq!(f("0.0006", 2), "0.00");
        assert_eq!(f("0.006", 2), "0.01");
        assert_eq!(f("-0.0006", 2), "0.00");
        assert_eq!(f("0.0051", 2), "0.01");
        assert_eq!(f("0.0049", 2), "0.00");
    }

    /// Random digit strings in many shapes: the plain form read back is the same number, and
    /// has the same digits as the numeral (leading and trailing zeros aside).
    #[test]
    fn v1_property_random_numerals_round_trip() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..5000 {
            let int: String = (0..1 + next() % 30)
                .map(|_| char::from(b'0' + (next() % 10) as u8))
                .collect();
            let frac: String = (0..next() % 20)
                .map(|_| char::from(b'0' + (next() % 10) as u8))
                .collect();
            let sign = if next() % 2 == 0 { "-" } else { "" };
            let exp = (next() % 41) as i64 - 20;
            let numeral = if frac.is_empty() {
                format!("{sign}{int}e{exp}")
            } else {
                format!("{sign}{int}.{frac}e{exp}")
            };
            let d = Decimal::parse(&numeral).expect("numeral");
            let p = d.to_plain().expect("fits");
            assert!(!p.contains(['e', 'E']), "{numeral} -> {p}");
            let back = Decimal::parse(&p).expect("plain numeral");
            assert_eq!(back.cmp_value(&d), Ordering::Equal, "{numeral} -> {p}");
            let sig = |s: &str| -> String {
                let m = s.split(['e', 'E']).next().unwrap_or("");
                let digits: String = m.chars().filter(char::is_ascii_digit).collect();
                digits.trim_matches('0').to_string()
            };
            assert_eq!(sig(&p), sig(&numeral), "{numeral} -> {p}");
        }
    }
}
