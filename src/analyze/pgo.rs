//! What a profile for `go build -pgo` holds: its samples, CPU time and profiled time, whether
//! the compiler can read it, and whether it holds enough samples to be representative.

use crate::profile::Profile;
use crate::units;

/// Fewer samples than this and the profile is not representative. The compiler inlines and
/// devirtualises at the call edges that make up the hottest 99% of the profile's weight
/// (cmd/compile's PGO CDF threshold): with n samples an edge carrying a share p is seen about
/// n·p times, give or take √(n·p). At 1000 samples (10 s of CPU at Go's 100 Hz) an edge with
/// 1% of the CPU is seen about 10 times, ±30%; below that, which edges count as hot changes
/// from one profile to the next, and so would the build.
pub const MIN_SAMPLES: i64 = 1000;

/// The totals of a CPU profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct CpuTotals {
    /// Samples taken: the sum of the `samples/count` values, else the CPU time over the period.
    pub samples: i64,
    /// CPU time in the samples, in nanoseconds (the `cpu` values scaled to nanoseconds).
    pub cpu_nanos: i64,
    /// How long the profile ran (wall time), in nanoseconds; 0 when it does not say.
    pub duration_nanos: i64,
}

impl CpuTotals {
    /// The totals of a CPU profile; a profile without a `cpu` sample type counts its samples
    /// only.
    pub fn of(profile: &Profile) -> CpuTotals {
        let sum = |index: Option<usize>| -> i64 {
            index.map_or(0, |i| {
                profile
                    .samples()
                    .fold(0i64, |sum, s| sum.saturating_add(s.value(i)))
            })
        };
        let cpu_index = profile.sample_index_of("cpu");
        let cpu_nanos = cpu_index.map_or(0, |i| {
            let (nanos, _) = units::scale(sum(Some(i)), &profile.sample_types[i].unit, "ns");
            nanos as i64
        });
        let samples = match profile.sample_index_of("samples") {
            Some(i) => sum(Some(i)),
            None if profile.period > 0 => cpu_nanos / profile.period,
            None => 0,
        };
        CpuTotals {
            samples,
            cpu_nanos,
            duration_nanos: profile.duration_nanos,
        }
    }

    /// The sum of two totals (of profiles merged).
    pub fn plus(self, other: CpuTotals) -> CpuTotals {
        CpuTotals {
            samples: self.samples.saturating_add(other.samples),
            cpu_nanos: self.cpu_nanos.saturating_add(other.cpu_nanos),
            duration_nanos: self.duration_nanos.saturating_add(other.duration_nanos),
        }
    }

    /// `2431 samples, 24.31s of CPU over 60.02s` (pprof's units; the duration is left out when
    /// the profile states none).
    pub fn describe(&self) -> String {
        let cpu = units::label(self.cpu_nanos, "nanoseconds");
        let mut text = format!("{} samples, {cpu} of CPU", self.samples);
        if self.duration_nanos > 0 {
            text.push_str(&format!(
                " over {}",
                units::label(self.duration_nanos, "nanoseconds")
            ));
        }
        text
    }

    /// Why these totals are too few to be representative ([`MIN_SAMPLES`]), or `None`.
    pub fn too_few(&self) -> Option<String> {
        (self.samples < MIN_SAMPLES).then(|| {
            format!(
                "only {} samples ({} of CPU), fewer than {MIN_SAMPLES}: which call sites look hot is \
                 sampling noise; collect a longer CPU profile under real load, or merge more sets",
                self.samples,
                units::label(self.cpu_nanos, "nanoseconds")
            )
        })
    }
}

/// Whether `go build -pgo` can use the profile. The compiler takes the first sample type
/// that is `samples/count` or `cpu/nanoseconds` and refuses a profile with neither; it keys
/// call sites by their line relative to the function's start line, which runtimes before
/// Go 1.20 do not write, and refuses a profile whose functions have none. (Merged with
/// others, such a profile would be accepted, but its call sites would match nothing and its
/// weight would only dilute the others'.) `Err` says what is missing.
pub fn check_usable(profile: &Profile) -> Result<(), String> {
    let usable = profile.sample_types.iter().any(|t| {
        (t.kind == "samples" && t.unit == "count") || (t.kind == "cpu" && t.unit == "nanoseconds")
    });
    if !usable {
        let types: Vec<String> = profile
            .sample_types
            .iter()
            .map(|t| format!("{}/{}", t.kind, t.unit))
            .collect();
        return Err(format!(
            "its sample types [{}] have neither samples/count nor cpu/nanoseconds, which go build -pgo needs",
            types.join(" ")
        ));
    }
    let sampled = profile.samples().any(|s| s.values().any(|v| v != 0));
    if sampled && profile.functions.iter().all(|f| f.start_line == 0) {
        return Err(
            "its functions have no start lines (the program was built with Go 1.19 or \
                    older), and go build -pgo refuses such a profile; collect one from a build \
                    made with Go 1.20 or later"
                .to_string(),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{Labels, ProfileBuilder, ValueType};

    fn cpu_profile(samples: &[(i64, i64)]) -> Profile {
        let mut b = ProfileBuilder::new(vec![
            ValueType {
                kind: "samples".into(),
                unit: "count".into(),
            },
            ValueType {
                kind: "cpu".into(),
                unit: "nanoseconds".into(),
            },
        ]);
        for &(count, nanos) in samples {
            b.sample(&[], &[count, nanos], Labels::default()).unwrap();
        }
        b.profile_mut().period = 10_000_000;
        b.profile_mut().duration_nanos = 60_000_000_000;
        b.finish()
    }

    #[test]
    fn totals_count_samples_and_cpu() {
        let totals = CpuTotals::of(&cpu_profile(&[(3, 30_000_000), (997, 9_970_000_000)]));
        assert_eq!(totals.samples, 1000);
        assert_eq!(totals.cpu_nanos, 10_000_000_000);
        assert_eq!(totals.describe(), "1000 samples, 10s of CPU over 60s");
        assert_eq!(totals.too_few(), None);
        let few = CpuTotals::of(&cpu_profile(&[(999, 9_990_000_000)]));
        assert!(
            few.too_few()
                .unwrap()
                .starts_with("only 999 samples (9.99s of CPU)")
        );
        assert_eq!(totals.plus(few).samples, 1999);
    }

    #[test]
    fn the_compiler_needs_samples_or_cpu_nanoseconds_and_start_lines() {
        assert_eq!(check_usable(&cpu_profile(&[])), Ok(()));
        let mut old_go = cpu_profile(&[(1, 10_000_000)]);
        old_go.functions.push(crate::profile::Function {
            id: 1,
            name: "main.main".into(),
            ..Default::default()
        });
        assert!(
            check_usable(&old_go)
                .unwrap_err()
                .contains("Go 1.19 or older")
        );
        old_go.functions[0].start_line = 10;
        assert_eq!(check_usable(&old_go), Ok(()));
        let heap = ProfileBuilder::new(vec![ValueType {
            kind: "inuse_space".into(),
            unit: "bytes".into(),
        }])
        .finish();
        assert!(
            check_usable(&heap)
                .unwrap_err()
                .contains("[inuse_space/bytes]")
        );
    }
}
