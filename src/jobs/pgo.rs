//! The `pgo` job: the CPU profiles of one or more sets merged into one profile for
//! `go build -pgo`, as `go tool pprof -proto a b > merged.pb.gz` merges them, and written
//! atomically (gzipped profile.proto).

use std::path::{Path, PathBuf};

use crate::analyze::pgo::{self, CpuTotals};
use crate::error::{Error, PgoError};
use crate::output::{Existing, write_atomic};
use crate::parallel;
use crate::profile::{self, DecodeOptions, MergeError};
use crate::set::{self, MemberKind};

/// Options of `pgo`.
#[derive(Debug, Clone)]
pub struct PgoJob {
    /// The sets (folders or path prefixes, or single CPU profiles), at least one.
    pub sets: Vec<PathBuf>,
    /// The profile to write (`default.pgo`, which `go build` picks up from the main
    /// package's folder).
    pub out: PathBuf,
    /// Limits for decoding the sets' members.
    pub decode: DecodeOptions,
}

/// One CPU profile that went into the merge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgoSource {
    /// The set's name.
    pub set: String,
    /// The CPU profile's file.
    pub file: PathBuf,
    /// What it holds.
    pub totals: CpuTotals,
}

/// What `pgo` wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgoWritten {
    /// The CPU profiles merged, in the order of the sets given.
    pub sources: Vec<PgoSource>,
    /// What the merged profile holds.
    pub totals: CpuTotals,
    /// The file written.
    pub out: PathBuf,
    /// True when a file was there before and was replaced.
    pub replaced: bool,
    /// Why the profile is too small to be representative ([`CpuTotals::too_few`]), if it is.
    pub warning: Option<String>,
}

/// Runs `pgo`: reads the sets side by side, merges their CPU profiles and writes the result.
pub fn run(job: &PgoJob) -> Result<PgoWritten, Error> {
    let sets: Vec<set::ProfileSet> = parallel::map(&job.sets, |path| set::open(path, &job.decode))
        .into_iter()
        .collect::<Result<_, _>>()?;
    let mut sources = Vec::new();
    let mut profiles = Vec::new();
    let mut seen: Vec<PathBuf> = Vec::new();
    for (given, set) in job.sets.iter().zip(&sets) {
        let cpu: Vec<&set::Member> = set
            .members
            .iter()
            .filter(|m| m.kind == MemberKind::Cpu)
            .collect();
        if cpu.is_empty() {
            return Err(no_cpu(given, set).into());
        }
        for member in cpu {
            let Some(profile) = member.profile() else {
                continue;
            };
            pgo::check_usable(profile).map_err(|why| PgoError::Unusable {
                path: member.path.clone(),
                why,
            })?;
            let identity = member.path.canonicalize().unwrap_or(member.path.clone());
            if seen.contains(&identity) {
                return Err(PgoError::Twice {
                    path: member.path.clone(),
                }
                .into());
            }
            seen.push(identity);
            sources.push(PgoSource {
                set: set.name.clone(),
                file: member.path.clone(),
                totals: CpuTotals::of(profile),
            });
            profiles.push(profile);
        }
    }
    let merged = profile::merge(&profiles).map_err(|e| match e {
        MergeError::Incompatible { index, what } => PgoError::Incompatible {
            path: sources[index].file.clone(),
            first: sources[0].file.clone(),
            what,
        },
        other => PgoError::Merge {
            out: job.out.clone(),
            source: other,
        },
    })?;
    let bytes = profile::encode_gzip(&merged).map_err(|source| Error::Io {
        path: job.out.clone(),
        source,
    })?;
    let replaced = job.out.exists();
    write_atomic(&job.out, &bytes, Existing::Replace).map_err(|source| Error::Io {
        path: job.out.clone(),
        source,
    })?;
    let totals = CpuTotals::of(&merged);
    super::free_in_background((sets, merged));
    Ok(PgoWritten {
        sources,
        totals,
        out: job.out.clone(),
        replaced,
        warning: totals.too_few(),
    })
}

/// The error for a set without a CPU profile: a single file given is named with its kind.
fn no_cpu(given: &Path, set: &set::ProfileSet) -> PgoError {
    if given.is_file()
        && let [member] = set.members.as_slice()
    {
        return PgoError::NotCpu {
            path: member.path.clone(),
            kind: member.kind.describe(),
        };
    }
    let mut kinds: Vec<&str> = set.members.iter().map(|m| m.kind.describe()).collect();
    kinds.dedup();
    let found = if kinds.is_empty() {
        "it has no profiles".to_string()
    } else {
        format!("it has: {}", kinds.join(", "))
    };
    PgoError::NoCpu {
        set: given.to_path_buf(),
        found,
    }
}
