//! Location ids renumbered by frequency while a large profile's samples are read, so that its
//! stacks take fewer bytes in memory.
//!
//! Stacks are stored as LEB128 varints, as profile.proto packs them: one byte for an entry
//! below 128, two below 16,384. Go numbers locations in the order it first meets them, so a
//! frame that runs through most stacks can hold any id; on `bench/large.sh`'s allocs profile
//! (232 locations, 25.6 million frames) 91% of the frames have a two-byte id, while the 127
//! most frequent locations cover all but 124 of them. The coder learns the frequencies on the
//! first samples, and when the codes it would give save an eighth of the bytes or more, gives
//! the most frequent locations the shortest codes for the rest of the stream: one pass, no
//! second buffer, the stacks of that profile 48.8 → 25.6 MB. Profiles that would not shrink
//! (most heap profiles have fewer than 128 locations) and small ones keep their ids as read,
//! copied as they came.

use rustc_hash::FxHashMap;

use super::model::{Varints, encode_varint};

/// Profiles expected to inflate to less than this keep their ids: their stacks are small, and
/// copying ids as they came is the fastest path.
const MIN_EXPECTED_BYTES: u64 = 4 << 20;

/// Stack bytes read before the coder decides: enough samples for the frequent locations to
/// show, little enough to renumber at once.
const LEARN_BYTES: usize = 64 << 10;

/// Ids below this are looked up in a vector while coding, larger ones in a hash map.
const DENSE_IDS: u64 = 1 << 16;

/// How the stacks of a profile being read are stored.
#[derive(Debug)]
pub(super) struct StackCoder {
    state: State,
}

#[derive(Debug)]
enum State {
    /// Ids kept as read.
    AsRead,
    /// Ids kept as read, and counted, until `LEARN_BYTES` of stacks have been read.
    Learning(FxHashMap<u64, u32>),
    /// Every id replaced by its code.
    Coding(Codes),
}

#[derive(Debug, Default)]
struct Codes {
    /// Code of each id below `DENSE_IDS`; 0 for none yet.
    dense: Vec<u32>,
    /// Code of each larger id.
    sparse: FxHashMap<u64, u32>,
    /// The id of each code − 1.
    ids: Vec<u64>,
}

impl Codes {
    #[inline]
    fn code(&mut self, id: u64) -> u64 {
        if id < DENSE_IDS {
            let slot = id as usize;
            if let Some(&code) = self.dense.get(slot)
                && code != 0
            {
                return u64::from(code);
            }
            let code = self.next_code(id);
            if self.dense.len() <= slot {
                self.dense.resize(slot + 1, 0);
            }
            self.dense[slot] = code;
            return u64::from(code);
        }
        if let Some(&code) = self.sparse.get(&id) {
            return u64::from(code);
        }
        let code = self.next_code(id);
        self.sparse.insert(id, code);
        u64::from(code)
    }

    fn next_code(&mut self, id: u64) -> u32 {
        self.ids.push(id);
        // At most one code per sample entry, and the stack buffer is addressed with 32 bits.
        self.ids.len() as u32
    }
}

impl StackCoder {
    /// The coder for a stream expected to inflate to `expected_bytes`.
    pub(super) fn for_stream(expected_bytes: Option<u64>) -> Self {
        match expected_bytes {
            Some(bytes) if bytes >= MIN_EXPECTED_BYTES => StackCoder::learning(),
            _ => StackCoder {
                state: State::AsRead,
            },
        }
    }

    /// A coder that learns from the first samples whatever the stream's size.
    pub(super) fn learning() -> Self {
        StackCoder {
            state: State::Learning(FxHashMap::default()),
        }
    }

    /// Appends one sample's packed ids, already checked to be well-formed varints.
    #[inline]
    pub(super) fn append_packed(&mut self, packed: &[u8], out: &mut Vec<u8>) {
        match &mut self.state {
            State::AsRead => out.extend_from_slice(packed),
            State::Learning(counts) => {
                for id in Varints::new(packed) {
                    *counts.entry(id).or_insert(0) += 1;
                }
                out.extend_from_slice(packed);
            }
            State::Coding(codes) => {
                for id in Varints::new(packed) {
                    encode_varint(codes.code(id), out);
                }
            }
        }
    }

    /// Appends one id given unpacked.
    pub(super) fn append_id(&mut self, id: u64, out: &mut Vec<u8>) {
        match &mut self.state {
            State::AsRead => encode_varint(id, out),
            State::Learning(counts) => {
                *counts.entry(id).or_insert(0) += 1;
                encode_varint(id, out);
            }
            State::Coding(codes) => encode_varint(codes.code(id), out),
        }
    }

    /// Called once a sample is stored: after `LEARN_BYTES` of stacks, decides whether to
    /// code the rest, and if so renumbers the stacks read so far.
    #[inline]
    pub(super) fn sample_stored(&mut self, stacks: &mut Vec<u8>, stack_ends: &mut [u32]) {
        if let State::Learning(counts) = &self.state
            && stacks.len() >= LEARN_BYTES
        {
            self.state = match codes_worth_it(counts, stacks.len()) {
                Some(mut codes) => {
                    renumber(stacks, stack_ends, &mut codes);
                    State::Coding(codes)
                }
                None => State::AsRead,
            };
        }
    }

    /// How many codes have been given so far.
    pub(super) fn code_count(&self) -> usize {
        match &self.state {
            State::Coding(codes) => codes.ids.len(),
            State::AsRead | State::Learning(_) => 0,
        }
    }

    /// The id of each code − 1, when the stacks hold codes; `None` when they hold ids.
    pub(super) fn into_ids(self) -> Option<Vec<u64>> {
        match self.state {
            State::Coding(codes) => Some(codes.ids),
            State::AsRead | State::Learning(_) => None,
        }
    }
}

/// Codes by descending frequency (ties by id), when they save an eighth of the `bytes` the
/// counted ids take.
fn codes_worth_it(counts: &FxHashMap<u64, u32>, bytes: usize) -> Option<Codes> {
    let mut by_count: Vec<(u64, u32)> = counts.iter().map(|(&id, &n)| (id, n)).collect();
    by_count.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let coded_bytes: u64 = by_count
        .iter()
        .enumerate()
        .map(|(i, &(_, n))| u64::from(n) * varint_len(i as u64 + 1))
        .sum();
    if coded_bytes.saturating_mul(8) > bytes as u64 * 7 {
        return None;
    }
    let mut codes = Codes::default();
    for (id, _) in by_count {
        codes.code(id);
    }
    Some(codes)
}

/// Rewrites the stacks read so far with their codes (a small buffer: `LEARN_BYTES` and one
/// sample), keeping the buffer's reservation.
fn renumber(stacks: &mut Vec<u8>, stack_ends: &mut [u32], codes: &mut Codes) {
    let mut coded = Vec::with_capacity(stacks.len());
    let mut start = 0;
    for end in stack_ends.iter_mut() {
        for id in Varints::new(&stacks[start..*end as usize]) {
            encode_varint(codes.code(id), &mut coded);
        }
        start = *end as usize;
        // Never longer than the ids it replaces in all: codes save an eighth of them.
        *end = coded.len() as u32;
    }
    stacks.clear();
    stacks.extend_from_slice(&coded);
}

fn varint_len(value: u64) -> u64 {
    u64::from((64 - (value | 1).leading_zeros()).div_ceil(7))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packed(ids: &[u64]) -> Vec<u8> {
        let mut out = Vec::new();
        for &id in ids {
            encode_varint(id, &mut out);
        }
        out
    }

    /// Stores `stacks` as the decoder does, returning the buffer, the ends and the ids.
    fn store(coder: &mut StackCoder, stacks: &[Vec<u64>]) -> (Vec<u8>, Vec<u32>) {
        let mut bytes = Vec::new();
        let mut ends = Vec::new();
        for stack in stacks {
            coder.append_packed(&packed(stack), &mut bytes);
            ends.push(bytes.len() as u32);
            coder.sample_stored(&mut bytes, &mut ends);
        }
        (bytes, ends)
    }

    fn decoded(bytes: &[u8], ends: &[u32], ids: Option<&[u64]>) -> Vec<Vec<u64>> {
        let mut start = 0;
        ends.iter()
            .map(|&end| {
                let stack = Varints::new(&bytes[start..end as usize])
                    .map(|v| ids.map_or(v, |ids| ids[v as usize - 1]))
                    .collect();
                start = end as usize;
                stack
            })
            .collect()
    }

    #[test]
    fn frequent_ids_above_127_get_one_byte_codes_and_read_back_as_the_same_ids() {
        // 300 locations; the hot ones are numbered 200..=230, as when Go meets a service's
        // main loop after its start-up code.
        let stacks: Vec<Vec<u64>> = (0..20_000u64)
            .map(|n| {
                let mut stack: Vec<u64> = (200..=230).collect();
                stack.push(1 + n % 300);
                stack
            })
            .collect();
        let mut coder = StackCoder::learning();
        let (bytes, ends) = store(&mut coder, &stacks);
        let ids = coder.into_ids().expect("coded");
        assert_eq!(decoded(&bytes, &ends, Some(&ids)), stacks);
        let as_read: usize = stacks.iter().map(|s| packed(s).len()).sum();
        assert!(
            bytes.len() * 10 < as_read * 6,
            "{} vs {as_read}",
            bytes.len()
        );
    }

    #[test]
    fn ids_that_would_not_shrink_are_kept_as_read() {
        let stacks: Vec<Vec<u64>> = (0..20_000u64)
            .map(|n| (1..=40).map(|i| 1 + (n + i) % 120).collect())
            .collect();
        let mut coder = StackCoder::learning();
        let (bytes, ends) = store(&mut coder, &stacks);
        assert!(coder.into_ids().is_none());
        assert_eq!(decoded(&bytes, &ends, None), stacks);
    }

    #[test]
    fn small_streams_and_unknown_sizes_are_not_coded() {
        for expected in [None, Some(MIN_EXPECTED_BYTES - 1)] {
            let stacks: Vec<Vec<u64>> = (0..20_000u64).map(|_| (200..=230).collect()).collect();
            let mut coder = StackCoder::for_stream(expected);
            let (bytes, ends) = store(&mut coder, &stacks);
            assert!(coder.into_ids().is_none());
            assert_eq!(decoded(&bytes, &ends, None), stacks);
        }
    }

    #[test]
    fn ids_first_met_after_learning_and_large_ids_get_codes_too() {
        let mut stacks: Vec<Vec<u64>> = (0..5_000u64).map(|_| (200..=230).collect()).collect();
        stacks.push(vec![7, 1 << 40, u64::MAX, 200]);
        stacks.push(vec![1 << 40, 5000]);
        let mut coder = StackCoder::learning();
        let (mut bytes, mut ends) = store(&mut coder, &stacks);
        coder.append_id(1 << 40, &mut bytes);
        ends.push(bytes.len() as u32);
        stacks.push(vec![1 << 40]);
        let ids = coder.into_ids().expect("coded");
        assert_eq!(decoded(&bytes, &ends, Some(&ids)), stacks);
    }

    #[test]
    fn varint_lengths() {
        for value in [0, 1, 127, 128, 16_383, 16_384, u64::MAX] {
            assert_eq!(
                varint_len(value) as usize,
                packed(&[value]).len(),
                "{value}"
            );
        }
    }
}
