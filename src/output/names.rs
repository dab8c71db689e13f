//! Names that came from data made into file names.

/// The longest file name component made from data, in bytes: two set names, `trend-`, `-to-`
/// and `.html` still fit the 255 bytes that Linux, macOS and Windows allow.
pub const NAME_BYTES_MAX: usize = 120;

/// A name that came from data (a set name from a file name, a host, a service) as one file
/// name component that stays where it is put: path separators, NUL and other control
/// characters, bidi controls and the characters Windows reserves (`<>:"|?*`) become `_`;
/// a leading dot (`.`, `..`, hidden files) and trailing dots and spaces (Windows drops them)
/// become `_`; Windows device names (`CON`, `NUL`, `COM1`, …) get a `_` in front; the name is
/// cut at `NAME_BYTES_MAX` bytes; an empty result is `fallback`. A plain name such as
/// `storage-57svc-20251015-210532` is unchanged.
pub fn safe_file_name(name: &str, fallback: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| match c {
            '/' | '\\' | '<' | '>' | ':' | '"' | '|' | '?' | '*' => '_',
            c if crate::text::is_hazard(c) => '_',
            c => c,
        })
        .collect();
    if out.len() > NAME_BYTES_MAX {
        let mut end = NAME_BYTES_MAX;
        while !out.is_char_boundary(end) {
            end -= 1;
        }
        out.truncate(end);
    }
    if out.trim().is_empty() {
        return fallback.to_string();
    }
    if out.starts_with('.') {
        out.replace_range(..1, "_");
    }
    if out.ends_with(['.', ' ']) {
        out.pop();
        out.push('_');
    }
    let stem = out
        .split('.')
        .next()
        .unwrap_or("")
        .trim_end()
        .to_ascii_uppercase();
    let reserved = matches!(stem.as_str(), "CON" | "PRN" | "AUX" | "NUL")
        || (stem.len() == 4
            && (stem.starts_with("COM") || stem.starts_with("LPT"))
            && stem.as_bytes()[3].is_ascii_digit());
    if reserved {
        out.insert(0, '_');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn names_from_data_stay_one_safe_component() {
        let cases = [
            (
                "storage-57svc-20251015-210532",
                "storage-57svc-20251015-210532",
            ),
            ("..", "__"),
            (".", "_"),
            ("...", "_._"),
            ("../../etc/passwd", "_._.._etc_passwd"),
            ("/abs/path", "_abs_path"),
            ("a\0b\nc\u{1b}d", "a_b_c_d"),
            ("x\u{202e}gpj.exe", "x_gpj.exe"),
            ("a<b>c:d\"e|f?g*h\\i", "a_b_c_d_e_f_g_h_i"),
            ("CON", "_CON"),
            ("nul.txt", "_nul.txt"),
            ("com1", "_com1"),
            ("console", "console"),
            ("trailing. ", "trailing._"),
            ("", "fallback"),
            ("  ", "fallback"),
            ("héllo wörld [1]", "héllo wörld [1]"),
        ];
        for (name, want) in cases {
            assert_eq!(safe_file_name(name, "fallback"), want, "{name:?}");
        }
        let long = "é".repeat(200);
        let cut = safe_file_name(&long, "x");
        assert!(cut.len() <= NAME_BYTES_MAX && cut.len() >= NAME_BYTES_MAX - 1);
        for name in ["..", ".", "a/b", "../x", "/x"] {
            let safe = safe_file_name(name, "x");
            let components: Vec<_> = Path::new(&safe).components().collect();
            assert!(
                matches!(components[..], [std::path::Component::Normal(_)]),
                "{name:?} → {safe:?}"
            );
        }
    }
}
