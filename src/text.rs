//! Text that came from outside (profiles, dumps, context files, file names) made safe to show.
//! Escaping for each output (Markdown, XML, HTML) lives with the renderers; what is here is
//! shared by all of them: which characters are never shown raw, and how long a shown name
//! may be.

/// The longest name shown in a table cell, a code span or a flame graph frame, in characters.
/// Go names, even generic instantiations, stay well below it; a hostile 100 kB name is cut
/// with `…` so that its table stays readable. The JSON analysis keeps every name whole.
pub const NAME_MAX: usize = 300;

/// A character that must never reach a reader raw: C0 and C1 controls and DEL (terminal
/// escapes, NUL, characters XML forbids), the bidi controls that can reorder what a reader
/// sees (Trojan Source), the invisible U+FEFF, the line and paragraph separators that some
/// renderers treat as line breaks, and the two noncharacters XML forbids.
pub fn is_hazard(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}'
                | '\u{200e}'
                | '\u{200f}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2066}'..='\u{2069}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{feff}'
                | '\u{fffe}'
                | '\u{ffff}'
        )
}

/// `text` on one line with no hazard left: line breaks and tabs become spaces (they separate
/// words), every other hazard becomes U+FFFD, so that a reader sees that something was there.
pub fn neutralise(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\n' | '\r' | '\t' | '\u{2028}' | '\u{2029}' => ' ',
            c if is_hazard(c) => '\u{fffd}',
            c => c,
        })
        .collect()
}

/// At most `max` characters, the last being `…` when something was cut.
pub fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_string(),
        Some(_) => {
            let kept: String = text.chars().take(max.saturating_sub(1)).collect();
            format!("{kept}…")
        }
    }
}

/// Every run of non-space characters longer than `max` cut to `max` (with `…`): a 100 kB
/// function name inside a sentence no longer drowns the sentence, while prose, whose words
/// are short, is kept whole.
pub fn truncate_words(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len().min(4 * max));
    let mut word = String::new();
    for c in text.chars() {
        if c.is_whitespace() {
            out.push_str(&truncate(&word, max));
            word.clear();
            out.push(c);
        } else {
            word.push(c);
        }
    }
    out.push_str(&truncate(&word, max));
    out
}

/// `text` for a terminal line (error messages, the list of written files): hazards are shown
/// as Rust escapes (`\n`, `\u{202e}`), so a hostile file name can neither break the one-line
/// error format nor send escape sequences to the terminal.
pub fn for_terminal(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if is_hazard(c) {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    out
}

/// An I/O error in words rather than errno text.
pub fn describe_io(error: &std::io::Error) -> String {
    use std::io::ErrorKind;
    match error.kind() {
        ErrorKind::NotFound => "no such file or directory".to_string(),
        ErrorKind::PermissionDenied => "permission denied".to_string(),
        ErrorKind::IsADirectory => "is a directory, not a file".to_string(),
        ErrorKind::StorageFull => "no space left on the device".to_string(),
        ErrorKind::FileTooLarge => {
            "file too large: the file-size limit (ulimit -f) or the file system's stops the write"
                .to_string()
        }
        ErrorKind::ReadOnlyFilesystem => "read-only file system".to_string(),
        ErrorKind::QuotaExceeded => "disk quota exceeded".to_string(),
        _ => error.to_string(),
    }
}

/// Text for a one-line error message, with line breaks and other control characters
/// escaped. Parser errors quote the input (a YAML value that spans lines, a JSON string with
/// a `\n`), which would split `error: <file>: <what>` (found by fuzzing).
pub fn one_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// A regular expression error on one line (regex's or regex-automata's). Both draw the
/// pattern with a caret under the problem, over several lines, which would break the one-line
/// `error: <file>: <what>` (found by fuzzing): keep its last line, the problem itself.
pub fn describe_regex(error: &impl std::fmt::Display) -> String {
    let text = error.to_string();
    let last = text
        .lines()
        .map(str::trim)
        .rfind(|line| !line.is_empty())
        .unwrap_or("invalid regular expression");
    last.strip_prefix("error: ").unwrap_or(last).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hazards_are_controls_bidi_and_invisible_characters() {
        for c in [
            '\0', '\u{1b}', '\u{7f}', '\u{85}', '\u{9b}', '\u{202e}', '\u{2066}', '\u{2069}',
            '\u{200f}', '\u{061c}', '\u{feff}', '\u{2028}', '\u{fffe}', '\u{ffff}',
        ] {
            assert!(is_hazard(c), "{c:?}");
        }
        for c in ['a', ' ', 'é', '…', '\u{fffd}', '中', '\u{200b}'] {
            assert!(!is_hazard(c), "{c:?}");
        }
    }

    #[test]
    fn neutralised_text_is_one_line_without_hazards() {
        assert_eq!(neutralise("a\nb\r\nc\td"), "a b  c d");
        assert_eq!(
            neutralise("x\u{202e}gpj.exe\0\u{1b}[31m"),
            "x\u{fffd}gpj.exe\u{fffd}\u{fffd}[31m"
        );
        assert_eq!(neutralise("plain (*T).F"), "plain (*T).F");
    }

    #[test]
    fn truncation_counts_characters_and_marks_the_cut() {
        assert_eq!(truncate("abcdef", 6), "abcdef");
        assert_eq!(truncate("abcdefg", 6), "abcde…");
        assert_eq!(truncate("ééééééé", 3), "éé…");
        assert_eq!(truncate("", 0), "");
        assert_eq!(truncate_words("short words stay", 4), "sho… wor… stay");
        let long = format!("in {} here", "x".repeat(100_000));
        let cut = truncate_words(&long, 10);
        assert_eq!(cut, "in xxxxxxxxx… here");
    }

    #[test]
    fn terminal_text_shows_hazards_as_escapes() {
        assert_eq!(for_terminal("a\nb"), "a\\nb");
        assert_eq!(for_terminal("x\u{202e}y\u{1b}"), "x\\u{202e}y\\u{1b}");
        assert_eq!(for_terminal("reports/ok.md"), "reports/ok.md");
    }

    #[test]
    // The point is a pattern that does not compile.
    #[allow(clippy::invalid_regex)]
    fn regex_errors_are_one_line() {
        let error = regex::Regex::new("^(()$").unwrap_err();
        assert!(error.to_string().contains('\n'));
        assert_eq!(describe_regex(&error), "unclosed group");
    }

    #[test]
    fn quoted_input_stays_on_one_line() {
        assert_eq!(
            one_line("unknown variant `h\nt`\r\u{7}"),
            "unknown variant `h\\nt`\\r\\u{7}"
        );
        assert_eq!(one_line("plain é"), "plain é");
    }
}
