//! The `# labels: {"key":"value", ...}` line of a `debug=1` block. runtime/pprof prints each
//! key and value with Go's `%q` (strconv.Quote), so values may hold `\"`, `\t`, `\xff`, `\u00e9`.

use crate::profile::model::Labels;

/// Adds the pairs of `{"k":"v", "k2":"v2"}` to `labels`. Returns `false`, adding nothing, when
/// the text is not in that form.
pub(super) fn parse_into(text: &str, labels: &mut Labels) -> bool {
    let Some(pairs) = parse_pairs(text) else {
        return false;
    };
    for (key, value) in pairs {
        labels.strings.entry(key).or_default().push(value);
    }
    true
}

fn parse_pairs(text: &str) -> Option<Vec<(String, String)>> {
    let mut rest = text.trim().strip_prefix('{')?.trim_start();
    let mut pairs = Vec::new();
    if let Some(after) = rest.strip_prefix('}') {
        return after.trim().is_empty().then_some(pairs);
    }
    loop {
        let (key, after) = unquote(rest)?;
        let after = after.trim_start().strip_prefix(':')?.trim_start();
        let (value, after) = unquote(after)?;
        pairs.push((key, value));
        let after = after.trim_start();
        if let Some(after) = after.strip_prefix(',') {
            rest = after.trim_start();
        } else {
            let after = after.strip_prefix('}')?;
            return after.trim().is_empty().then_some(pairs);
        }
    }
}

/// Reads one Go double-quoted string at the start of `text`; returns it unescaped and the text
/// after the closing quote. Bytes that are not UTF-8 (`\xff`) become U+FFFD.
pub(super) fn unquote(text: &str) -> Option<(String, &str)> {
    let body = text.strip_prefix('"')?;
    let bytes = body.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(bytes.len().min(64));
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                let value = match String::from_utf8(out) {
                    Ok(value) => value,
                    Err(err) => String::from_utf8_lossy(err.as_bytes()).into_owned(),
                };
                return Some((value, &body[i + 1..]));
            }
            b'\\' => {
                let escape = *bytes.get(i + 1)?;
                i += 2;
                match escape {
                    b'a' => out.push(0x07),
                    b'b' => out.push(0x08),
                    b'f' => out.push(0x0c),
                    b'n' => out.push(b'\n'),
                    b'r' => out.push(b'\r'),
                    b't' => out.push(b'\t'),
                    b'v' => out.push(0x0b),
                    b'\\' | b'"' | b'\'' => out.push(escape),
                    b'x' => {
                        out.push(u8::try_from(hex_digits(bytes, i, 2)?).ok()?);
                        i += 2;
                    }
                    b'u' | b'U' => {
                        let width = if escape == b'u' { 4 } else { 8 };
                        let c = char::from_u32(hex_digits(bytes, i, width)?)?;
                        out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                        i += width;
                    }
                    b'0'..=b'7' => {
                        let digits = bytes.get(i - 1..i + 2)?;
                        let mut value: u32 = 0;
                        for &d in digits {
                            if !(b'0'..=b'7').contains(&d) {
                                return None;
                            }
                            value = value * 8 + u32::from(d - b'0');
                        }
                        out.push(u8::try_from(value).ok()?);
                        i += 2;
                    }
                    _ => return None,
                }
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    None
}

fn hex_digits(bytes: &[u8], start: usize, width: usize) -> Option<u32> {
    let digits = std::str::from_utf8(bytes.get(start..start + width)?).ok()?;
    if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(digits, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(text: &str) -> Option<Vec<(String, String)>> {
        parse_pairs(text)
    }

    fn owned(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn plain_pairs() {
        assert_eq!(
            pairs(r#"{"service":"storage", "zone":"eu-1"}"#),
            Some(owned(&[("service", "storage"), ("zone", "eu-1")]))
        );
        assert_eq!(pairs("{}"), Some(vec![]));
    }

    #[test]
    fn go_escapes() {
        assert_eq!(
            pairs(r#"{"q":"a\"b\tc\\d", "u":"\u00e9\U0001F600", "x":"\x41\101", "raw":"ü"}"#),
            Some(owned(&[
                ("q", "a\"b\tc\\d"),
                ("u", "é😀"),
                ("x", "AA"),
                ("raw", "ü"),
            ]))
        );
        // A byte that is not UTF-8 is kept as the replacement character.
        assert_eq!(pairs(r#"{"b":"\xff"}"#), Some(owned(&[("b", "\u{fffd}")])));
    }

    #[test]
    fn malformed() {
        for text in [
            "",
            "{",
            r#"{"a":"b""#,
            r#"{"a" "b"}"#,
            r#"{"a":"b",}"#,
            r#"{"a":"b"} x"#,
            r#"{"a":"\q"}"#,
            r#"{"a":"\x4"}"#,
            r#"{"a":"\ud800"}"#,
            r#"{a:"b"}"#,
        ] {
            assert_eq!(pairs(text), None, "{text}");
        }
    }

    #[test]
    fn merges_into_labels() {
        let mut labels = Labels::default();
        assert!(parse_into(r#"{"a":"1"}"#, &mut labels));
        assert!(parse_into(r#"{"a":"2", "b":"3"}"#, &mut labels));
        assert!(!parse_into("nope", &mut labels));
        assert_eq!(labels.strings["a"], vec!["1", "2"]);
        assert_eq!(labels.strings["b"], vec!["3"]);
    }
}
