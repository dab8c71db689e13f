//! Plain-text listing of a profile set's members for the terminal.

use crate::set::{Content, MemberKind, ProfileSet};
use crate::units;

/// What `pprof-report members` prints: the set's name and folder, what its name says, one
/// line per member (kind, file, size, samples or goroutines), the members missing and where
/// to fetch them, the context file and the files that are not members.
pub fn render(set: &ProfileSet) -> String {
    let mut out = format!("set: {} (in {})\n", set.name, set.dir.display());
    if let Some(naming) = &set.naming {
        out.push_str(&format!(
            "from its name: host {}, {} services, collected {}\n",
            naming.host, naming.services, naming.collected_at
        ));
    }
    out.push_str("members:\n");
    for member in &set.members {
        let file = member
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let summary = match &member.content {
            Content::Dump(dump) => format!(
                "{} goroutines in {} stacks{}",
                dump.total(),
                dump.profile.samples.len(),
                match dump.header_total {
                    Some(total) if total != dump.total() => format!(" (header says {total})"),
                    _ => String::new(),
                }
            ),
            Content::Profile(p) => {
                let types: Vec<String> = p
                    .sample_types
                    .iter()
                    .map(|t| format!("{}/{}", t.kind, t.unit))
                    .collect();
                let window = match member.kind {
                    MemberKind::AllocsWindow
                    | MemberKind::MutexWindow
                    | MemberKind::BlockWindow => {
                        format!("; over {}", units::label(p.duration_nanos, "nanoseconds"))
                    }
                    _ => String::new(),
                };
                format!("{} samples; {}{window}", p.samples.len(), types.join(", "))
            }
            Content::MemStats(stats) => format!(
                "NumGC {}, HeapAlloc {}, StackInuse {}",
                stats.num_gc.map_or("-".to_string(), |n| n.to_string()),
                stats
                    .heap_alloc
                    .map_or("-".to_string(), |b| units::label(b as i64, "bytes")),
                stats
                    .stack_inuse
                    .map_or("-".to_string(), |b| units::label(b as i64, "bytes")),
            ),
        };
        out.push_str(&format!(
            "  {:<36} {:<54} {:>9}  {}\n",
            member.kind.describe(),
            file,
            units::label(member.size as i64, "bytes"),
            summary
        ));
    }
    if !set.missing.is_empty() {
        out.push_str("missing:\n");
        for kind in &set.missing {
            out.push_str(&format!(
                "  {:<36} collect it from {}\n",
                kind.describe(),
                kind.endpoint()
            ));
        }
    }
    if let Some(context) = &set.context {
        out.push_str(&format!("context: {}\n", context.display()));
    }
    if !set.others.is_empty() {
        out.push_str("other files:\n");
        for other in &set.others {
            out.push_str(&format!("  {}: {}\n", other.path.display(), other.reason));
        }
    }
    out
}
