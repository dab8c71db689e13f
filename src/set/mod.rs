//! Profile sets: the files one collection round wrote (`<prefix>-cpu.prof`, `-heap.prof`, …),
//! found from a directory or a path prefix and classified by their content. The file name
//! only breaks ties (mutex and block profiles carry the same sample types).

pub mod load;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::dump::{self, DumpFormat, GoroutineDump};
use crate::memstats::{self, MemStats, MemStatsError};
use crate::profile::{self, DecodeOptions, Profile};
use crate::text::describe_io;

/// What a member of a set is, decided from its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MemberKind {
    /// A CPU profile (a `cpu` sample or period type), from `/debug/pprof/profile`.
    Cpu,
    /// A heap profile (`inuse_space`/`alloc_space` sample types, no `alloc_*` default), from
    /// `/debug/pprof/heap`.
    Heap,
    /// An allocs profile: the heap profile's sample types with `alloc_space` or `alloc_objects` as
    /// the default, from `/debug/pprof/allocs`.
    Allocs,
    /// A goroutine profile in protobuf (the one sample type `goroutine/count`).
    Goroutine,
    /// A goroutine text dump with `debug=1`: one block per distinct stack, with its count.
    GoroutineDebug1,
    /// A goroutine text dump with `debug=2`: every goroutine, with its state and wait time.
    GoroutineDebug2,
    /// A mutex contention profile (`contentions` and `delay`; the file name says `mutex`).
    Mutex,
    /// A block profile (`contentions` and `delay`; the file name says `block`).
    Block,
    /// The runtime's memory statistics: the heap profile in text form
    /// (`/debug/pprof/heap?debug=1`), read for its `# runtime.MemStats` block.
    MemStats,
    /// An allocs profile over a window (`/debug/pprof/allocs?seconds=N`, Go 1.16+): what was
    /// allocated during N seconds. The name says `-window`, the profile states a duration.
    AllocsWindow,
    /// A mutex profile over a window (`/debug/pprof/mutex?seconds=N`).
    MutexWindow,
    /// A block profile over a window (`/debug/pprof/block?seconds=N`).
    BlockWindow,
    /// The goroutine leak profile (`/debug/pprof/goroutineleak`, Go 1.26 as an experiment,
    /// standard since 1.27; sample type `goroutineleak/count`): the goroutines a GC cycle
    /// proved nobody can ever wake.
    GoroutineLeak,
    /// The `debug=2` dump written by that detection (`goroutineleak?debug=2`): every goroutine,
    /// the leaked ones marked `(leaked)`. The file name says `goroutineleak`.
    GoroutineLeakDebug2,
    /// A contention profile (mutex or block: same sample types) whose name says neither.
    Contention,
    /// A threadcreate profile (the one sample type `threadcreate/count`).
    ThreadCreate,
    /// A pprof profile of some other kind (another language's profiler, a custom profile).
    Other,
}

impl MemberKind {
    /// The members a complete Go profile set has, in report order.
    pub const EXPECTED: [MemberKind; 8] = [
        MemberKind::Cpu,
        MemberKind::Heap,
        MemberKind::Allocs,
        MemberKind::Goroutine,
        MemberKind::GoroutineDebug1,
        MemberKind::GoroutineDebug2,
        MemberKind::Mutex,
        MemberKind::Block,
    ];

    /// Members `collect` also fetches that a set may lack without being incomplete: sets
    /// collected before they existed, and services whose Go predates the delta endpoints
    /// (1.16), read as they always did, and the report says which figures fall back.
    pub const OPTIONAL: [MemberKind; 6] = [
        MemberKind::MemStats,
        MemberKind::AllocsWindow,
        MemberKind::MutexWindow,
        MemberKind::BlockWindow,
        MemberKind::GoroutineLeak,
        MemberKind::GoroutineLeakDebug2,
    ];

    /// The kind in words, for tables and titles: `CPU profile`, `goroutine dump (debug=2)`.
    pub fn describe(self) -> &'static str {
        match self {
            MemberKind::Cpu => "CPU profile",
            MemberKind::Heap => "heap profile",
            MemberKind::Allocs => "allocs profile",
            MemberKind::Goroutine => "goroutine profile (protobuf)",
            MemberKind::GoroutineDebug1 => "goroutine dump (debug=1)",
            MemberKind::GoroutineDebug2 => "goroutine dump (debug=2)",
            MemberKind::Mutex => "mutex profile",
            MemberKind::Block => "block profile",
            MemberKind::MemStats => "runtime.MemStats (heap text)",
            MemberKind::AllocsWindow => "allocs profile over the window",
            MemberKind::MutexWindow => "mutex profile over the window",
            MemberKind::BlockWindow => "block profile over the window",
            MemberKind::GoroutineLeak => "goroutine leak profile",
            MemberKind::GoroutineLeakDebug2 => "goroutine leak dump (debug=2)",
            MemberKind::Contention => "contention profile (mutex or block)",
            MemberKind::ThreadCreate => "threadcreate profile",
            MemberKind::Other => "other pprof profile",
        }
    }

    /// The /debug/pprof path that serves this member.
    pub fn endpoint(self) -> &'static str {
        match self {
            MemberKind::Cpu => "/debug/pprof/profile?seconds=60",
            MemberKind::Heap => "/debug/pprof/heap",
            MemberKind::Allocs => "/debug/pprof/allocs",
            MemberKind::Goroutine => "/debug/pprof/goroutine",
            MemberKind::GoroutineDebug1 => "/debug/pprof/goroutine?debug=1",
            MemberKind::GoroutineDebug2 => "/debug/pprof/goroutine?debug=2",
            MemberKind::Mutex | MemberKind::Contention => "/debug/pprof/mutex",
            MemberKind::Block => "/debug/pprof/block",
            MemberKind::MemStats => "/debug/pprof/heap?debug=1",
            MemberKind::AllocsWindow => "/debug/pprof/allocs?seconds=60",
            MemberKind::MutexWindow => "/debug/pprof/mutex?seconds=60",
            MemberKind::BlockWindow => "/debug/pprof/block?seconds=60",
            MemberKind::GoroutineLeak => "/debug/pprof/goroutineleak",
            MemberKind::GoroutineLeakDebug2 => "/debug/pprof/goroutineleak?debug=2",
            MemberKind::ThreadCreate => "/debug/pprof/threadcreate",
            MemberKind::Other => "",
        }
    }
}

/// A decoded member.
#[derive(Debug)]
pub enum Content {
    /// A pprof protobuf profile.
    Profile(Profile),
    /// A goroutine text dump (`debug=1` or `debug=2`), with the profile built from its stacks.
    Dump(GoroutineDump),
    /// The `# runtime.MemStats` block of a heap profile text (which has no stacks read here).
    MemStats(MemStats),
}

/// One decoded file of a set, with what it is.
#[derive(Debug)]
pub struct Member {
    /// What the file is, decided from its content.
    pub kind: MemberKind,
    /// Path of the file: as given, or the set's directory joined with its name.
    pub path: PathBuf,
    /// Size of the file as stored (compressed, if it is), in bytes.
    pub size: u64,
    /// Hex SHA-256 of the file's bytes, for the report's appendix.
    pub sha256: String,
    /// The decoded profile or dump.
    pub content: Content,
}

impl Member {
    /// The stack→count profile of the member (a dump's is built from its stacks); `None`
    /// for the MemStats text, which is figures, not stacks.
    pub fn profile(&self) -> Option<&Profile> {
        match &self.content {
            Content::Profile(p) => Some(p),
            Content::Dump(d) => Some(&d.profile),
            Content::MemStats(_) => None,
        }
    }

    /// The runtime statistics, for the MemStats member.
    pub fn memstats(&self) -> Option<&MemStats> {
        match &self.content {
            Content::MemStats(m) => Some(m),
            _ => None,
        }
    }
}

/// What a `<host>-<N>svc-<YYYYMMDD-HHMMSS>` name says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetName {
    /// Host name, the part before `-<N>svc` (may itself hold dashes).
    pub host: String,
    /// Number of services the name declares (`57` for `57svc`).
    pub services: u32,
    /// `2025-10-15 21:05:32`, the collector's local time as written in the name.
    pub collected_at: String,
}

/// A file next to the members that is not a profile (a context file, notes, a ps line).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OtherFile {
    /// Path of the file.
    pub path: PathBuf,
    /// Why it is not read as a profile: `text file, not a profile`, or a text profile format
    /// that is not read.
    pub reason: String,
}

/// The files of one collection round, decoded and classified: the members, what is missing,
/// the context file and the other files.
#[derive(Debug)]
pub struct ProfileSet {
    /// The common prefix of the members' names, e.g. `storage-57svc-20251015-210532`.
    pub name: String,
    /// Directory that holds the set's files.
    pub dir: PathBuf,
    /// What the set's name says (host, services, collection time), when it follows the
    /// `<host>-<N>svc-<YYYYMMDD-HHMMSS>` naming.
    pub naming: Option<SetName>,
    /// Members in `MemberKind` order, then by path.
    pub members: Vec<Member>,
    /// Expected members that were not found ([`MemberKind::EXPECTED`]; the optional ones
    /// are not counted).
    pub missing: Vec<MemberKind>,
    /// The set's context file (`<prefix>-context.yaml`), when there is one.
    pub context: Option<PathBuf>,
    /// Files with the set's prefix that are text, not profiles, sorted by path.
    pub others: Vec<OtherFile>,
}

impl ProfileSet {
    /// The first member of this kind.
    pub fn member(&self, kind: MemberKind) -> Option<&Member> {
        self.members.iter().find(|m| m.kind == kind)
    }
}

/// Why a set could not be opened or listed. Messages start with the path concerned.
#[derive(Debug, thiserror::Error)]
pub enum SetError {
    /// A directory or file could not be read, or the path names nothing usable.
    #[error("{}: {what}", path.display())]
    Io {
        /// The directory or file concerned.
        path: PathBuf,
        /// What went wrong, in words: `permission denied`, `no such file or directory`.
        what: String,
    },
    /// No profile was found there.
    #[error("{}: no profiles found (expected files such as <prefix>-cpu.prof)", path.display())]
    Empty {
        /// The directory, prefix or file the user named.
        path: PathBuf,
    },
    /// A directory holds several sets and no prefix says which one is meant.
    #[error(
        "{}: holds {count} profile sets ({names}); name one by its prefix, e.g. {example}",
        path.display()
    )]
    Ambiguous {
        /// The directory the user named.
        path: PathBuf,
        /// How many sets it holds.
        count: usize,
        /// Their prefixes, comma-separated.
        names: String,
        /// The first set's prefix path (`dir/<prefix>`), to show how to name one.
        example: String,
    },
    /// A file that is neither text nor a goroutine dump could not be decoded as a pprof profile.
    #[error("{}: {source}", path.display())]
    Decode {
        /// The file.
        path: PathBuf,
        /// Why it could not be decoded.
        source: profile::DecodeError,
    },
    /// A file looked like a goroutine text dump but could not be parsed.
    #[error("{}: {source}", path.display())]
    Dump {
        /// The file.
        path: PathBuf,
        /// Why it could not be parsed.
        source: dump::DumpError,
    },
    /// A file starts as a heap profile text but its MemStats block cannot be read.
    #[error("{}: {source}", path.display())]
    MemStats {
        /// The file.
        path: PathBuf,
        /// Why its MemStats block could not be read.
        source: MemStatsError,
    },
}

/// Suffixes that name a member; what is before them is the set's prefix.
const MEMBER_SUFFIXES: &[&str] = &[
    "-cpu",
    "-profile",
    "-heap",
    "-allocs",
    "-goroutine",
    "-goroutines",
    "-mutex",
    "-block",
    "-threadcreate",
    "-trace",
];

/// The set prefix of a file name: what comes before the rightmost member suffix that ends
/// the name or is followed by `-` or `.`
/// (`storage-57svc-20251015-210532-goroutines-debug2.txt` → `storage-57svc-20251015-210532`).
fn prefix_of(file_name: &str) -> Option<&str> {
    MEMBER_SUFFIXES
        .iter()
        .filter_map(|suffix| {
            file_name
                .match_indices(suffix)
                .filter(|(at, _)| {
                    let next = file_name.as_bytes().get(at + suffix.len());
                    matches!(next, None | Some(b'-') | Some(b'.'))
                })
                .map(|(at, _)| at)
                .last()
        })
        .filter(|&at| at > 0)
        .max()
        .map(|at| &file_name[..at])
}

/// True for a regular file, or a symbolic link to one: a set gathered with `ln -s` from
/// several collections is read as if its files were there. Links to anything else (a folder, a
/// device) and dangling links are not members, as such files are not.
fn is_file_entry(entry: &std::fs::DirEntry) -> bool {
    match entry.file_type() {
        Ok(kind) if kind.is_symlink() => std::fs::metadata(entry.path()).is_ok_and(|m| m.is_file()),
        Ok(kind) => kind.is_file(),
        Err(_) => false,
    }
}

/// The sets in a directory: their prefixes and files. With `prefix`, only that set.
fn discover(dir: &Path, prefix: Option<&str>) -> Result<BTreeMap<String, Vec<PathBuf>>, SetError> {
    let entries = std::fs::read_dir(dir).map_err(|e| SetError::Io {
        path: dir.to_path_buf(),
        what: describe_io(&e),
    })?;
    let mut names: Vec<(String, PathBuf)> = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| SetError::Io {
            path: dir.to_path_buf(),
            what: describe_io(&e),
        })?;
        if is_file_entry(&entry) {
            names.push((
                entry.file_name().to_string_lossy().into_owned(),
                entry.path(),
            ));
        }
    }
    let prefixes: Vec<String> = match prefix {
        Some(p) => vec![p.to_string()],
        None => names
            .iter()
            .filter_map(|(name, _)| prefix_of(name).map(str::to_string))
            .collect(),
    };
    // Every file that starts with a set's prefix belongs to it, members or not (the
    // context file, a ps line).
    let mut by_prefix: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    for p in prefixes {
        by_prefix.entry(p).or_default();
    }
    for (name, file) in &names {
        for (p, files) in by_prefix.iter_mut() {
            let belongs = name
                .strip_prefix(p.as_str())
                .is_some_and(|rest| rest.starts_with('-') || rest.starts_with('.'));
            if belongs {
                files.push(file.clone());
            }
        }
    }
    by_prefix.retain(|_, files| !files.is_empty());
    Ok(by_prefix)
}

/// Every set in a directory, as prefix paths (`dir/<prefix>`) that `open` takes, sorted.
pub fn list(dir: &Path) -> Result<Vec<PathBuf>, SetError> {
    let sets = discover(dir, None)?;
    if sets.is_empty() {
        return Err(SetError::Empty {
            path: dir.to_path_buf(),
        });
    }
    // `dir/..` names the parent folder, not the set whose files start with `..-`.
    if let Some(prefix) = sets.keys().find(|p| matches!(p.as_str(), "." | "..")) {
        return Err(SetError::Io {
            path: dir.to_path_buf(),
            what: format!("holds a set named {prefix:?}, which no path can name; rename its files"),
        });
    }
    Ok(sets.keys().map(|prefix| dir.join(prefix)).collect())
}

/// Opens the set at `path`: a directory holding one set, a path prefix such as
/// `profiles/storage-57svc-20251015-210532`, or one profile file (a set of one member).
/// A directory whose files follow no set naming (`profile.pb`, `wall.pb.gz` — what other
/// profilers write) is one set of all its files, named after the directory.
pub fn open(path: &Path, options: &DecodeOptions) -> Result<ProfileSet, SetError> {
    if path.is_file() {
        return open_files(path, vec![path.to_path_buf()], single_name(path), options);
    }
    let (dir, prefix) = if path.is_dir() {
        (path.to_path_buf(), None)
    } else {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let prefix = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        (dir, Some(prefix))
    };
    let by_prefix = discover(&dir, prefix.as_deref())?;
    if by_prefix.is_empty() && prefix.is_none() {
        let files = plain_files(&dir)?;
        if !files.is_empty() {
            let name = dir
                .canonicalize()
                .ok()
                .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
                .unwrap_or_else(|| "profiles".to_string());
            return open_files(path, files, name, options);
        }
    }
    if by_prefix.is_empty() {
        return Err(SetError::Empty {
            path: path.to_path_buf(),
        });
    }
    if by_prefix.len() > 1 {
        let names: Vec<&String> = by_prefix.keys().collect();
        return Err(SetError::Ambiguous {
            path: path.to_path_buf(),
            count: names.len(),
            names: names
                .iter()
                .map(|n| n.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            example: dir.join(names[0]).display().to_string(),
        });
    }
    let Some((name, files)) = by_prefix.into_iter().next() else {
        return Err(SetError::Empty {
            path: path.to_path_buf(),
        });
    };
    open_files(path, files, name, options)
}

/// The visible regular files of a directory, sorted.
fn plain_files(dir: &Path) -> Result<Vec<PathBuf>, SetError> {
    let entries = std::fs::read_dir(dir).map_err(|e| SetError::Io {
        path: dir.to_path_buf(),
        what: describe_io(&e),
    })?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| SetError::Io {
            path: dir.to_path_buf(),
            what: describe_io(&e),
        })?;
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        if !hidden && is_file_entry(&entry) {
            files.push(entry.path());
        }
    }
    files.sort();
    Ok(files)
}

/// The name of a set of one file: the file name without its extensions
/// (`wall.pb.gz` → `wall`).
fn single_name(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    match name.split_once('.') {
        Some((stem, _)) if !stem.is_empty() => stem.to_string(),
        _ => name,
    }
}

/// Reads the files of one set (`path` is what the user named, for errors).
fn open_files(
    path: &Path,
    mut files: Vec<PathBuf>,
    name: String,
    options: &DecodeOptions,
) -> Result<ProfileSet, SetError> {
    let dir = match files.first().and_then(|f| f.parent()) {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    files.sort();

    let mut members = Vec::new();
    let mut others = Vec::new();
    let mut context = None;
    let mut to_read = Vec::new();
    for file in files {
        let is_context = file
            .file_name()
            .map(|n| n.to_string_lossy())
            .is_some_and(|n| {
                n.ends_with("-context.yaml")
                    || n.ends_with("-context.yml")
                    || n == "context.yaml"
                    || n == "context.yml"
            });
        if is_context && context.is_none() {
            context = Some(file);
        } else {
            to_read.push(file);
        }
    }
    for (file, read) in to_read.iter().zip(read_members(&to_read, options)) {
        match read? {
            Read::Member(member) => members.push(*member),
            Read::Other(reason) => others.push(OtherFile {
                path: file.clone(),
                reason,
            }),
        }
    }
    if members.is_empty() {
        return Err(SetError::Empty {
            path: path.to_path_buf(),
        });
    }
    members.sort_by(|a, b| a.kind.cmp(&b.kind).then_with(|| a.path.cmp(&b.path)));
    let missing = MemberKind::EXPECTED
        .iter()
        .copied()
        .filter(|kind| !members.iter().any(|m| m.kind == *kind))
        .filter(|kind| {
            // An unnamed contention profile may be either one; do not call both missing.
            !matches!(kind, MemberKind::Mutex | MemberKind::Block)
                || !members.iter().any(|m| m.kind == MemberKind::Contention)
        })
        .collect();
    Ok(ProfileSet {
        naming: parse_set_name(&name),
        name,
        dir,
        members,
        missing,
        context,
        others,
    })
}

/// Reads the files of a set in parallel; the results keep the files' order. The largest files
/// start first: the set is read once the slowest member is, so it must not wait its turn.
fn read_members(files: &[PathBuf], options: &DecodeOptions) -> Vec<Result<Read, SetError>> {
    let mut order: Vec<usize> = (0..files.len()).collect();
    order.sort_by_cached_key(|&i| {
        let size = std::fs::metadata(&files[i]).map_or(0, |m| m.len());
        (std::cmp::Reverse(size), i)
    });
    let results = crate::parallel::map(&order, |&i| read_member(&files[i], options));
    let mut in_file_order: Vec<(usize, Result<Read, SetError>)> =
        order.into_iter().zip(results).collect();
    in_file_order.sort_by_key(|(i, _)| *i);
    in_file_order.into_iter().map(|(_, read)| read).collect()
}

enum Read {
    Member(Box<Member>),
    Other(String),
}

/// Reads from a file while counting its bytes and hashing them, so that a member is read once:
/// its size and SHA-256 for the appendix come from the same pass that decodes it.
struct Hashing<R> {
    inner: R,
    hasher: sha2::Sha256,
    size: u64,
}

impl<R: std::io::Read> std::io::Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        use sha2::Digest;
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }
}

impl<R: std::io::Read> Hashing<R> {
    /// Reads what the decoder left (nothing, usually), then the size and SHA-256.
    fn finish(mut self) -> std::io::Result<(u64, String)> {
        use sha2::Digest;
        std::io::copy(&mut self, &mut std::io::sink())?;
        let sha256 = self
            .hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok((self.size, sha256))
    }
}

fn read_member(path: &Path, options: &DecodeOptions) -> Result<Read, SetError> {
    use std::io::Read as _;
    let io_error = |e: std::io::Error| SetError::Io {
        path: path.to_path_buf(),
        what: describe_io(&e),
    };
    let file = std::fs::File::open(path).map_err(io_error)?;
    let expected = load::expected_size(&file);
    let mut reader = Hashing {
        inner: file,
        hasher: <sha2::Sha256 as sha2::Digest>::new(),
        size: 0,
    };
    let mut head = Vec::with_capacity(4096);
    (&mut reader)
        .take(4096)
        .read_to_end(&mut head)
        .map_err(io_error)?;
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    if !profile::is_gzip(&head) && memstats::sniff(&head) {
        // A heap text holds a record per allocation site: bounded like an inflated profile.
        let limit = options.max_decompressed_bytes;
        let mut text = head;
        (&mut reader)
            .take(limit.saturating_sub(text.len() as u64).saturating_add(1))
            .read_to_end(&mut text)
            .map_err(io_error)?;
        if text.len() as u64 > limit {
            return Err(SetError::Io {
                path: path.to_path_buf(),
                what: format!(
                    "a heap profile text larger than {} (raise --max-decompressed-size)",
                    crate::units::label(limit as i64, "bytes")
                ),
            });
        }
        let stats = memstats::parse(&text).map_err(|source| SetError::MemStats {
            path: path.to_path_buf(),
            source,
        })?;
        let (size, sha256) = reader.finish().map_err(io_error)?;
        return Ok(Read::Member(Box::new(Member {
            kind: MemberKind::MemStats,
            path: path.to_path_buf(),
            size,
            sha256,
            content: Content::MemStats(stats),
        })));
    }
    if !profile::is_gzip(&head)
        && legacy_contention_kind(&head).is_none()
        && dump::sniff(&head).is_none()
        && looks_like_text(&head)
    {
        reader.finish().map_err(io_error)?;
        return Ok(Read::Other(text_reason(&head)));
    }
    let decoded = load::decode_reader_sized(
        std::io::Cursor::new(&head).chain(&mut reader),
        options,
        expected,
    )
    .map_err(|e| match e {
        load::DecodeAnyError::Profile(source) => SetError::Decode {
            path: path.to_path_buf(),
            source,
        },
        load::DecodeAnyError::Dump(source) => SetError::Dump {
            path: path.to_path_buf(),
            source,
        },
    })?;
    let (size, sha256) = reader.finish().map_err(io_error)?;
    let kind = match kind_of(&head, &decoded, &file_name) {
        Ok(kind) => kind,
        Err(reason) => return Ok(Read::Other(reason)),
    };
    let content = match decoded {
        load::Decoded::Dump(dump) => Content::Dump(dump),
        load::Decoded::Profile(profile) => Content::Profile(profile),
    };
    Ok(Read::Member(Box::new(Member {
        kind,
        path: path.to_path_buf(),
        size,
        sha256,
        content,
    })))
}

/// The block and mutex texts (`?debug=1`) say which they are in their first line; `head`
/// is the start of the file as stored.
fn legacy_contention_kind(head: &[u8]) -> Option<MemberKind> {
    match profile::legacy::sniff(head) {
        Some(profile::legacy::Legacy::GoBlock) => Some(MemberKind::Block),
        Some(profile::legacy::Legacy::GoMutex) => Some(MemberKind::Mutex),
        _ => None,
    }
}

/// What a decoded file named `file_name`, whose stored bytes start with `head`, is as a
/// member of a set (what `members` calls it), or why a profile named as a window profile is
/// none. `collect` asks the same question of each body, to catch an endpoint that serves
/// another kind than it promises.
pub fn kind_of(
    head: &[u8],
    decoded: &load::Decoded,
    file_name: &str,
) -> Result<MemberKind, String> {
    if let Some(kind) = legacy_contention_kind(head) {
        return Ok(kind);
    }
    let file_name = file_name.to_lowercase();
    match decoded {
        load::Decoded::Dump(dump) => Ok(match dump.format {
            DumpFormat::Debug1 => MemberKind::GoroutineDebug1,
            // The dump the leak detection wrote is told apart by its name only: it is
            // an ordinary debug=2 dump whose leaked goroutines say so.
            DumpFormat::Debug2 if file_name.contains("goroutineleak") => {
                MemberKind::GoroutineLeakDebug2
            }
            DumpFormat::Debug2 => MemberKind::GoroutineDebug2,
        }),
        load::Decoded::Profile(profile) => {
            window_kind(classify(profile, &file_name), &file_name, profile)
        }
    }
}

/// Decides what a pprof profile is from its sample types, default sample type and period
/// type; the file name only separates mutex from block.
pub fn classify(profile: &Profile, file_name: &str) -> MemberKind {
    let types: Vec<(&str, &str)> = profile
        .sample_types
        .iter()
        .map(|t| (t.kind.as_str(), t.unit.as_str()))
        .collect();
    let has = |kind: &str| types.iter().any(|(k, _)| *k == kind);
    let period_kind = profile.period_type.as_ref().map(|t| t.kind.as_str());
    if has("cpu") || period_kind == Some("cpu") {
        return MemberKind::Cpu;
    }
    if has("inuse_space") || has("alloc_space") {
        // Go writes the same four sample types for both; /allocs names alloc_space as the
        // default, /heap names none (or inuse_space).
        return match profile.default_sample_type.as_deref() {
            Some("alloc_space") | Some("alloc_objects") => MemberKind::Allocs,
            _ => MemberKind::Heap,
        };
    }
    if types == [("goroutine", "count")] {
        return MemberKind::Goroutine;
    }
    if types == [("goroutineleak", "count")] {
        return MemberKind::GoroutineLeak;
    }
    if types == [("threadcreate", "count")] {
        return MemberKind::ThreadCreate;
    }
    if has("contentions") && has("delay") {
        let name_says_block = file_name.contains("block");
        let name_says_mutex = file_name.contains("mutex");
        return match (name_says_mutex, name_says_block) {
            (true, false) => MemberKind::Mutex,
            (false, true) => MemberKind::Block,
            _ => MemberKind::Contention,
        };
    }
    MemberKind::Other
}

/// A profile whose name says `-window` is a delta profile (`?seconds=N`): the kind over the
/// window, provided the profile states the window's length, which only the delta endpoint
/// writes (runtime/pprof leaves it 0 for heap, allocs, mutex and block). Otherwise why not.
fn window_kind(kind: MemberKind, file_name: &str, profile: &Profile) -> Result<MemberKind, String> {
    let named_window = file_name.contains("-window.") || file_name.ends_with("-window");
    if !named_window {
        return Ok(kind);
    }
    let window = match kind {
        MemberKind::Allocs | MemberKind::Heap => MemberKind::AllocsWindow,
        MemberKind::Mutex => MemberKind::MutexWindow,
        MemberKind::Block => MemberKind::BlockWindow,
        other => return Ok(other),
    };
    if profile.duration_nanos <= 0 {
        return Err(format!(
            "named as a window profile, but it states no duration: not what /debug/pprof/{}?seconds=N writes",
            match window {
                MemberKind::AllocsWindow => "allocs",
                MemberKind::MutexWindow => "mutex",
                _ => "block",
            }
        ));
    }
    Ok(window)
}

fn looks_like_text(data: &[u8]) -> bool {
    let head = &data[..data.len().min(4096)];
    !head.is_empty()
        && head.iter().all(|&b| {
            b == b'\n' || b == b'\r' || b == b'\t' || (0x20..0x7f).contains(&b) || b >= 0x80
        })
        && std::str::from_utf8(head).is_ok()
}

fn text_reason(data: &[u8]) -> String {
    let first_line = data
        .split(|&b| b == b'\n')
        .next()
        .map(|l| String::from_utf8_lossy(l).trim().to_string())
        .unwrap_or_default();
    if let Some(profile::legacy::Legacy::Unread { format, advice }) = profile::legacy::sniff(data) {
        format!("{format}: not read; {advice}")
    } else if first_line.ends_with("profile: total 0") || first_line.contains(" profile: ") {
        format!("text profile format not read (first line {first_line:?}); collect it as protobuf")
    } else {
        "text file, not a profile".to_string()
    }
}

/// Reads `<host>-<N>svc-<YYYYMMDD>-<HHMMSS>`; the host may itself contain dashes.
pub fn parse_set_name(name: &str) -> Option<SetName> {
    let parts: Vec<&str> = name.rsplitn(4, '-').collect();
    let [time, date, services, host] = parts.as_slice() else {
        return None;
    };
    let services: u32 = services.strip_suffix("svc")?.parse().ok()?;
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(date, 8) || !digits(time, 6) || host.is_empty() {
        return None;
    }
    Some(SetName {
        host: host.to_string(),
        services,
        collected_at: format!(
            "{}-{}-{} {}:{}:{}",
            &date[..4],
            &date[4..6],
            &date[6..],
            &time[..2],
            &time[2..4],
            &time[4..]
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_names_parse() {
        assert_eq!(
            parse_set_name("storage-57svc-20251015-210532"),
            Some(SetName {
                host: "storage".to_string(),
                services: 57,
                collected_at: "2025-10-15 21:05:32".to_string()
            })
        );
        assert_eq!(
            parse_set_name("sim-portlist-off-57svc-20261125-120000").map(|n| n.host),
            Some("sim-portlist-off".to_string())
        );
        assert_eq!(parse_set_name("profile"), None);
        assert_eq!(parse_set_name("host-xsvc-20251015-210532"), None);
        assert_eq!(parse_set_name("host-5svc-2025101-210532"), None);
    }

    #[test]
    fn prefixes_drop_the_member_suffix() {
        assert_eq!(
            prefix_of("storage-57svc-20251015-210532-goroutines-debug2.txt"),
            Some("storage-57svc-20251015-210532")
        );
        assert_eq!(prefix_of("a-cpu.prof"), Some("a"));
        assert_eq!(prefix_of("context.yaml"), None);
    }
}
