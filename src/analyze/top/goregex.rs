//! Go's regular expressions (RE2 syntax, as `regexp.Compile` reads it) compiled with the
//! `regex` crate. The two engines share most of their syntax; where they read the same text
//! differently, the pattern is rewritten so that it means what Go makes of it, or refused
//! where Go refuses it.

use regex::Regex;

/// Compiles `pattern` as Go's `regexp.Compile` reads it. The error is one line.
pub(crate) fn compile(pattern: &str) -> Result<Regex, String> {
    let translated = translate(pattern)?;
    Regex::new(&translated).map_err(|e| crate::text::describe_regex(&e))
}

/// Go's repeat limit (`{n,m}` with n or m above it is an error there).
const MAX_REPEAT: u32 = 1000;

fn translate(pattern: &str) -> Result<String, String> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len() + 8);
    // Go refuses a repetition right after another (`a**`, `a+*`); Rust stacks them.
    let mut after_repeat = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        let mut is_repeat = false;
        match c {
            '\\' => i = escape(&chars, i, &mut out, false)?,
            '[' => i = class(&chars, i, &mut out)?,
            '(' if chars.get(i + 1) == Some(&'?') => {
                i = group_flags(&chars, i, &mut out)?;
            }
            '*' | '+' | '?' => {
                out.push(c);
                i += 1;
                is_repeat = true;
            }
            '{' => match repeat(&chars, i)? {
                Some(end) => {
                    out.extend(&chars[i..end]);
                    i = end;
                    is_repeat = true;
                }
                None => {
                    // Go reads a brace that opens no valid repeat as a literal.
                    out.push_str("\\{");
                    i += 1;
                }
            },
            _ => {
                out.push(c);
                i += 1;
            }
        }
        if is_repeat {
            if after_repeat {
                let shown: String = chars[start..i].iter().collect();
                return Err(format!("invalid nested repetition operator: `{shown}`"));
            }
            // A `?` right after a repetition makes it non-greedy; it is part of it.
            if chars.get(i) == Some(&'?') {
                out.push('?');
                i += 1;
            }
        }
        after_repeat = is_repeat;
    }
    Ok(out)
}

/// `(?flags)` and `(?flags:`: Go knows `i`, `m`, `s`, `U` and `P<name>`; Rust's `x`, `u`,
/// `R` and `(?<name>` are errors in Go 1.19.
fn group_flags(chars: &[char], start: usize, out: &mut String) -> Result<usize, String> {
    let mut i = start + 2;
    if chars.get(i) == Some(&'P') && chars.get(i + 1) == Some(&'<') {
        out.push_str("(?P<");
        return Ok(i + 2);
    }
    while let Some(&c) = chars.get(i) {
        match c {
            'i' | 'm' | 's' | 'U' | '-' => i += 1,
            ':' | ')' => {
                out.extend(&chars[start..=i]);
                return Ok(i + 1);
            }
            _ => break,
        }
    }
    let shown: String = chars[start..(i + 1).min(chars.len())].iter().collect();
    Err(format!("invalid or unsupported Perl syntax: `{shown}`"))
}

/// The end of a valid Go repeat `{n}`, `{n,}` or `{n,m}` starting at `start`, if one does.
fn repeat(chars: &[char], start: usize) -> Result<Option<usize>, String> {
    let mut i = start + 1;
    let number = |i: &mut usize| -> Option<u32> {
        let from = *i;
        while chars.get(*i).is_some_and(char::is_ascii_digit) {
            *i += 1;
        }
        let digits: String = chars[from..*i].iter().collect();
        if digits.is_empty() {
            None
        } else {
            Some(digits.parse().unwrap_or(u32::MAX))
        }
    };
    let Some(low) = number(&mut i) else {
        return Ok(None);
    };
    let mut high = Some(low);
    if chars.get(i) == Some(&',') {
        i += 1;
        high = if chars.get(i) == Some(&'}') {
            None
        } else {
            match number(&mut i) {
                Some(h) => Some(h),
                None => return Ok(None),
            }
        };
    }
    if chars.get(i) != Some(&'}') {
        return Ok(None);
    }
    if low > MAX_REPEAT || high.is_some_and(|h| h > MAX_REPEAT || h < low) {
        let shown: String = chars[start..=i].iter().collect();
        return Err(format!("invalid repeat count: `{shown}`"));
    }
    Ok(Some(i + 1))
}

/// A backslash escape at `start`; returns the index after it. Inside a class the Perl
/// classes are written as ranges, outside as classes.
fn escape(chars: &[char], start: usize, out: &mut String, in_class: bool) -> Result<usize, String> {
    let Some(&c) = chars.get(start + 1) else {
        return Err("trailing backslash at end of expression".to_string());
    };
    let mut i = start + 2;
    // Go's Perl classes are ASCII; Rust's are Unicode.
    let perl = match c {
        'd' => Some(("0-9", false)),
        'D' => Some(("0-9", true)),
        'w' => Some(("0-9A-Za-z_", false)),
        'W' => Some(("0-9A-Za-z_", true)),
        's' => Some(("\\t\\n\\f\\r ", false)),
        'S' => Some(("\\t\\n\\f\\r ", true)),
        _ => None,
    };
    match (perl, c) {
        (Some((ranges, false)), _) if in_class => out.push_str(ranges),
        (Some((ranges, negated)), _) if !in_class => {
            out.push_str(if negated { "[^" } else { "[" });
            out.push_str(ranges);
            out.push(']');
        }
        // A negated Perl class inside a class has no range form; Rust's Unicode reading
        // differs from Go's only on non-ASCII digits, letters and spaces.
        (Some(_), _) => {
            out.push('\\');
            out.push(c);
        }
        (None, 'b' | 'B') if !in_class => {
            out.push_str(if c == 'b' { "(?-u:\\b)" } else { "(?-u:\\B)" });
        }
        (None, 'Q') => {
            // Literal text up to `\E` (or the end).
            while i < chars.len() {
                if chars[i] == '\\' && chars.get(i + 1) == Some(&'E') {
                    i += 2;
                    break;
                }
                out.push_str(&regex::escape(&chars[i].to_string()));
                i += 1;
            }
        }
        (None, '0'..='7') => {
            // Go: a lone non-zero digit is a backreference (unsupported); otherwise up to
            // three octal digits.
            let mut end = start + 1;
            while end < chars.len() && end < start + 4 && ('0'..='7').contains(&chars[end]) {
                end += 1;
            }
            if c != '0' && end == start + 2 {
                return Err(format!("invalid escape sequence: `\\{c}`"));
            }
            let digits: String = chars[start + 1..end].iter().collect();
            let code = u32::from_str_radix(&digits, 8).unwrap_or(0);
            out.push_str(&format!("\\x{{{code:x}}}"));
            i = end;
        }
        (None, 'p' | 'P' | 'x') => {
            out.push('\\');
            out.push(c);
            if chars.get(i) == Some(&'{') {
                while i < chars.len() {
                    out.push(chars[i]);
                    i += 1;
                    if chars[i - 1] == '}' {
                        break;
                    }
                }
            } else if c == 'x' {
                // Go: exactly two hex digits.
                for _ in 0..2 {
                    if let Some(&h) = chars.get(i) {
                        out.push(h);
                        i += 1;
                    }
                }
            } else if let Some(&name) = chars.get(i) {
                out.push(name);
                i += 1;
            }
        }
        (None, 'a' | 'f' | 't' | 'n' | 'r' | 'v' | 'A' | 'z') => {
            out.push('\\');
            out.push(c);
        }
        (None, _) if c.is_ascii_punctuation() => {
            // Go lets any punctuation be escaped to stand for itself; Rust gives `\<` and
            // `\>` other meanings.
            out.push_str(&format!("\\x{{{:x}}}", c as u32));
        }
        (None, _) => return Err(format!("invalid escape sequence: `\\{c}`")),
    }
    Ok(i)
}

/// A character class at `start`; returns the index after its `]`. Rust reads a nested `[`
/// and the operators `&&`, `--` and `~~` inside a class; Go reads them as literals (and
/// `[:alpha:]` as a named class, like Rust).
fn class(chars: &[char], start: usize, out: &mut String) -> Result<usize, String> {
    out.push('[');
    let mut i = start + 1;
    if chars.get(i) == Some(&'^') {
        out.push('^');
        i += 1;
    }
    // A `]` first in the class is a literal.
    if chars.get(i) == Some(&']') {
        out.push_str("\\]");
        i += 1;
    }
    while i < chars.len() {
        let c = chars[i];
        match c {
            ']' => {
                out.push(']');
                return Ok(i + 1);
            }
            '\\' => i = escape(chars, i, out, true)?,
            '[' if chars.get(i + 1) == Some(&':') => {
                let name_end = (i + 2..chars.len().saturating_sub(1))
                    .find(|&j| chars[j] == ':' && chars[j + 1] == ']');
                match name_end {
                    Some(j) => {
                        out.extend(&chars[i..j + 2]);
                        i = j + 2;
                    }
                    None => {
                        out.push_str("\\[");
                        i += 1;
                    }
                }
            }
            '[' | '&' | '~' => {
                out.push('\\');
                out.push(c);
                i += 1;
            }
            '-' if chars.get(i + 1) == Some(&'-') => {
                out.push_str("-\\-");
                i += 2;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    let shown: String = chars[start..].iter().collect();
    Err(format!("missing closing ]: `{shown}`"))
}

#[cfg(test)]
mod tests {
    use super::compile;

    fn matches(pattern: &str, text: &str) -> bool {
        compile(pattern).unwrap().is_match(text)
    }

    #[test]
    fn perl_classes_are_ascii_as_in_go() {
        assert!(matches(r"^\d+$", "123"));
        assert!(!matches(r"^\d$", "٣"));
        assert!(matches(r"^\D$", "٣"));
        assert!(!matches(r"^\w$", "é"));
        assert!(matches(r"^[\w-]+$", "svc-1_a"));
        assert!(!matches(r"^\s$", "\u{a0}"));
        assert!(matches(r"\bsvc\b", "a svc b"));
    }

    #[test]
    fn what_go_reads_as_literals_stays_literal() {
        assert!(matches(r"^a{,3}$", "a{,3}"));
        assert!(matches(r"^a{$", "a{"));
        assert!(matches(r"^[[a]$", "["));
        assert!(matches(r"^[a&&b]+$", "a&b"));
        assert!(matches(r"^[a~~b]+$", "~"));
        assert!(matches(r"^\<x\>$", "<x>"));
        assert!(matches(r"^\Qa.b\E$", "a.b"));
        assert!(!matches(r"^\Qa.b\E$", "axb"));
        assert!(matches(r"^\101$", "A"));
        assert!(matches(r"^[]a]+$", "]a"));
        assert!(matches(r"^[[:alpha:]]+$", "abc"));
        assert!(matches(r"(?i)^SVC$", "svc"));
        assert!(matches(r"^(?P<n>a)$", "a"));
        assert!(matches(r"^a*?b$", "aab"));
        assert!(matches(r"^a{2}?$", "aa"));
        assert!(matches(r"(?i)^a?$", "A"));
    }

    #[test]
    fn what_go_refuses_is_refused() {
        for bad in [
            "(", "a)", "[a", r"\1", "(?x)a", "(?<n>a)", "a{1001}", "a{2,1}", r"\", r"\q", "*",
            "a**", "a+*", "a{2}*", "a*??",
        ] {
            assert!(compile(bad).is_err(), "{bad:?} compiled");
        }
    }
}
