//! Go's and pprof's path and file-name rules (`filepath.Base`, `filepath.Clean`, trimming,
//! mapping names), reproduced for byte-identical names.

/// A mapping's file name as pprof shows it: unsourceMappings empties names that are URLs
/// when there is no build id.
pub(super) fn shown_file_name(m: &crate::profile::Mapping) -> &str {
    if m.build_id.is_empty() && is_absolute_url(&m.filename) {
        ""
    } else {
        &m.filename
    }
}

/// pprof drops mapping file names that are absolute URLs (`url.Parse(f).IsAbs()`).
pub(super) fn is_absolute_url(file: &str) -> bool {
    let Some((scheme, _)) = file.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// Go's `filepath.Base`.
pub(super) fn go_base(path: &str) -> String {
    if path.is_empty() {
        return ".".to_string();
    }
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return "/".to_string();
    }
    trimmed.rsplit('/').next().unwrap_or(trimmed).to_string()
}

/// Go's `filepath.Clean` (lexical: `//`, `.` and `..` elements).
pub(super) fn go_clean(path: &str) -> String {
    if path.is_empty() {
        return ".".to_string();
    }
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            _ => parts.push(part),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

/// pprof's report-time path trimming with no -trim_path and no -source_path.
pub(super) fn trim_path(path: &str) -> &str {
    for prefix in ["/proc/self/cwd/./", "/proc/self/cwd/"] {
        if let Some(rest) = path.strip_prefix(prefix) {
            return rest;
        }
    }
    path
}
