//! The Go version a binary was built with, and its default GODEBUG, read from the build
//! information the Go linker writes into every executable (what `go version -m` prints).
//!
//! The build information starts with the 14-byte magic `\xff Go buildinf:`, 16-byte aligned,
//! at the start of the `.go.buildinfo` section; byte 14 is the pointer size and byte 15 the
//! flags. Since Go 1.18 flag bit 2 (`0x2`) says the version and the module information
//! follow the 32-byte header inline, each as a uvarint length and its bytes. Before 1.18 the
//! header held two pointers to Go strings elsewhere in the binary; reading them needs the
//! executable's address map, so those binaries are "unknown" here (Go's own reader is
//! `debug/buildinfo`).

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// The magic that starts the build information.
const MAGIC: &[u8; 14] = b"\xff Go buildinf:";
/// The header's length: the magic, pointer size, flags, then two pointer slots.
const HEADER: usize = 32;
/// Flag bit: the version and module information are inline after the header (Go 1.18+).
const FLAG_INLINE: u8 = 0x2;
/// The most read after the header: the version and module information of any real binary
/// fit (a module list of thousands of dependencies is some 200 KB).
const MAX_INFO: usize = 1 << 20;

/// What the build information says.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BuildInfo {
    /// The toolchain's version string, `go1.19.8` (or `devel …`).
    pub go_version: String,
    /// The `DefaultGODEBUG` build setting (`containermaxprocs=0,panicnil=1`), empty when the
    /// build has none (before Go 1.21, or a main module at the toolchain's language version).
    pub default_godebug: String,
}

/// The build information in `bytes`, which start at the magic; `None` when they do not hold
/// an inline (Go 1.18+) build information block.
pub fn parse(bytes: &[u8]) -> Option<BuildInfo> {
    if bytes.len() < HEADER || &bytes[..MAGIC.len()] != MAGIC {
        return None;
    }
    let pointer_size = bytes[14];
    let flags = bytes[15];
    if !matches!(pointer_size, 4 | 8) || flags & FLAG_INLINE == 0 {
        return None;
    }
    let rest = &bytes[HEADER..];
    let (version, rest) = varint_string(rest)?;
    let (modinfo, _) = varint_string(rest).unwrap_or((&[], &[]));
    let go_version = std::str::from_utf8(version).ok()?.to_string();
    if go_version.is_empty() || go_version.chars().any(|c| c.is_control()) {
        return None;
    }
    let modinfo = String::from_utf8_lossy(modinfo);
    let default_godebug = modinfo
        .lines()
        .find_map(|line| line.strip_prefix("build\tDefaultGODEBUG="))
        .unwrap_or_default()
        .to_string();
    Some(BuildInfo {
        go_version,
        default_godebug,
    })
}

/// A uvarint length and that many bytes; the rest after them.
fn varint_string(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let mut length: u64 = 0;
    for (i, &b) in bytes.iter().enumerate().take(10) {
        length |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            let start = i + 1;
            let end = start.checked_add(usize::try_from(length).ok()?)?;
            return bytes.get(start..end).map(|s| (s, &bytes[end..]));
        }
    }
    None
}

/// Reads the build information of the executable at `path` (`/proc/PID/exe`): the first
/// 16-byte aligned magic whose block parses. `None` when the file cannot be read, is not a Go
/// binary, or is one from before Go 1.18.
pub fn read(path: &Path) -> Option<BuildInfo> {
    let mut file = std::fs::File::open(path).ok()?;
    // Scan in chunks that overlap by a header, so a magic on a chunk boundary is seen.
    const CHUNK: usize = 1 << 20;
    let mut buf = vec![0u8; CHUNK + HEADER];
    let mut base: u64 = 0; // file offset of buf[0]
    let mut filled = 0usize;
    loop {
        let n = read_full(&mut file, &mut buf[filled..])?;
        filled += n;
        let mut at = 0usize;
        while let Some(found) = memchr::memmem::find(&buf[at..filled], MAGIC) {
            let pos = at + found;
            let offset = base + pos as u64;
            if offset.is_multiple_of(16)
                && let Some(info) = block_at(&mut file, offset)
            {
                return Some(info);
            }
            at = pos + 1;
        }
        if n == 0 || filled < buf.len() {
            return None;
        }
        // Keep the last HEADER bytes for the next round.
        let keep = HEADER;
        buf.copy_within(filled - keep..filled, 0);
        base += (filled - keep) as u64;
        filled = keep;
    }
}

/// The block at `offset` of `file`, read afresh (it may run past the scanning buffer).
fn block_at(file: &mut std::fs::File, offset: u64) -> Option<BuildInfo> {
    let back = file.stream_position().ok()?;
    file.seek(SeekFrom::Start(offset)).ok()?;
    let mut block = Vec::new();
    let read = file
        .by_ref()
        .take((HEADER + MAX_INFO) as u64)
        .read_to_end(&mut block);
    file.seek(SeekFrom::Start(back)).ok()?;
    read.ok()?;
    parse(&block)
}

/// Fills `buf` as far as the file goes; the bytes read (0 at the end).
fn read_full(file: &mut std::fs::File, buf: &mut [u8]) -> Option<usize> {
    let mut total = 0;
    while total < buf.len() {
        match file.read(&mut buf[total..]) {
            Ok(0) => break,
            Ok(n) => total += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::{go_release, godebug_value};

    fn block(version: &str, modinfo: &str) -> Vec<u8> {
        let mut b = MAGIC.to_vec();
        b.extend([8, FLAG_INLINE]);
        b.resize(HEADER, 0);
        for s in [version, modinfo] {
            b.push(s.len() as u8);
            b.extend(s.as_bytes());
        }
        b
    }

    #[test]
    fn inline_blocks_parse_and_pointer_blocks_do_not() {
        let info = parse(&block(
            "go1.27.3",
            "path\tx\nbuild\tDefaultGODEBUG=containermaxprocs=0,panicnil=1\n",
        ))
        .unwrap();
        assert_eq!(info.go_version, "go1.27.3");
        assert_eq!(
            godebug_value(&info.default_godebug, "containermaxprocs"),
            Some("0")
        );
        let mut old = block("go1.17", "");
        old[15] = 0; // pointers, not inline
        assert_eq!(parse(&old), None);
        assert_eq!(parse(&block("go1.19.8", "")[..20]), None);
        let mut cut = block("go1.19.8", "");
        cut.truncate(HEADER + 4);
        assert_eq!(parse(&cut), None);
    }

    #[test]
    fn releases_and_godebug() {
        assert_eq!(go_release("go1.24.3"), Some((1, 24)));
        assert_eq!(go_release("go1.21rc2"), Some((1, 21)));
        assert_eq!(go_release("go1.9"), Some((1, 9)));
        assert_eq!(go_release("devel go1.25-abc"), None);
        assert_eq!(godebug_value("a=1,b=0,a=2", "a"), Some("2"));
        assert_eq!(godebug_value("", "a"), None);
    }

    #[test]
    fn the_magic_is_found_aligned_in_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("exe");
        let mut bytes = vec![0u8; 3 * (1 << 20) - 7];
        // A decoy that is not aligned, then the real block at an aligned offset past the
        // first chunk.
        bytes[101..101 + MAGIC.len()].copy_from_slice(MAGIC);
        let at = (1 << 20) + 16 * 3;
        let b = block("go1.22.1", "");
        bytes[at..at + b.len()].copy_from_slice(&b);
        std::fs::write(&path, &bytes).unwrap();
        assert_eq!(read(&path).unwrap().go_version, "go1.22.1");
        std::fs::write(&path, b"not go").unwrap();
        assert_eq!(read(&path), None);
    }
}
