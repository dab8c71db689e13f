//! Checks on a whole decoded profile, protobuf or built from a goroutine dump, that no single
//! message can fail: every public way from bytes to a [`Profile`] passes through them.

use super::limits::DecodeError;
use super::model::Profile;

/// The largest sum of |value| over the samples of one sample type that is accepted. Every
/// total, flat and cum downstream is a sum of some of these values, and `top --base` adds a
/// second profile's: below 2^61 none of it can overflow an i64. Above, Go's pprof wraps
/// silently and prints garbage, and our debug builds panicked (found by fuzzing). No real
/// profile comes near: 2^61 nanoseconds are 73 years of CPU, 2^61 bytes 2 EiB.
const MAX_VALUE_SUM: u128 = 1 << 61;

/// Refuses a profile whose |values| of one sample type add up past 2^61 (`MAX_VALUE_SUM`).
pub fn check_value_sums(profile: &Profile) -> Result<(), DecodeError> {
    for (i, sample_type) in profile.sample_types.iter().enumerate() {
        let sum: u128 = profile
            .samples()
            .map(|s| u128::from(s.value(i).unsigned_abs()))
            .sum();
        if sum > MAX_VALUE_SUM {
            return Err(DecodeError::Invalid(format!(
                "the {:?} values add up to {sum} (absolute), more than the 2^61 that sums over them can hold",
                sample_type.kind
            )));
        }
    }
    Ok(())
}
