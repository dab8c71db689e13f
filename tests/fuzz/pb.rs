//! Structure-aware protobuf mutations: profile.proto's messages (prost), changed where a
//! decoder and the code after it are most likely to go wrong, and wire-level edits that no
//! encoder writes (overlong varints, huge length prefixes, wrong wire types).
//!
//! The messages are the crate's own profile.proto messages (`profile::proto`), which the
//! decoder does not use for samples: the harness writes profiles as any encoder would.

use prost::Message;

use crate::harness::Rng;

pub use pprof_report::profile::proto::*;

pub fn decode(data: &[u8]) -> Option<Profile> {
    Profile::decode(data).ok()
}

pub fn encode(profile: &Profile) -> Vec<u8> {
    profile.encode_to_vec()
}

const EXTREME_I64: &[i64] = &[
    0,
    1,
    -1,
    i64::MAX,
    i64::MIN,
    i64::MAX - 1,
    i64::MIN + 1,
    1 << 53,
    -(1 << 53),
    1 << 62,
    i32::MAX as i64,
    1_000_000_000_000_000_000,
];

const EXTREME_U64: &[u64] = &[
    0,
    1,
    u64::MAX,
    u64::MAX - 1,
    i64::MAX as u64,
    1 << 63,
    1 << 32,
    u32::MAX as u64,
];

/// Strings that names in a profile can hold and that text formats downstream do not expect:
/// flame-graph separators, Markdown and HTML syntax, control characters, invalid UTF-8.
const HOSTILE_STRINGS: &[&[u8]] = &[
    b"",
    b" ",
    b";",
    b"a;b c 10",
    b"x\ny",
    b"\r",
    b"\t",
    b"|",
    b"<script>&amp;</script>",
    b"]]>",
    b"`",
    b"\xff\xfe",
    b"\xc3",
    b"\x00",
    b"(",
    b"[",
    b".*",
    b"\\",
    b"a{1000}{1000}",
    b"runtime.goexit",
    b"runtime.gopark",
    b"syscall.Syscall6",
    b"main.main",
    b"{{ x }}",
    b"{% raw %}",
    b"nanoseconds",
    b"bytes",
    b"count",
    b"cpu",
    b"samples",
    b"inuse_space",
    b"alloc_space",
    b"goroutine",
    b"contentions",
    b"delay",
];

fn extreme_i64(rng: &mut Rng) -> i64 {
    if rng.chance(1, 4) {
        rng.next_u64() as i64
    } else {
        *rng.pick(EXTREME_I64)
    }
}

fn extreme_u64(rng: &mut Rng) -> u64 {
    if rng.chance(1, 4) {
        rng.next_u64()
    } else {
        *rng.pick(EXTREME_U64)
    }
}

/// A string-table index that is wrong in one of the ways that matter: 0 (the empty string
/// where a name is required), negative, one past the end, huge, or valid but arbitrary.
fn string_index(rng: &mut Rng, p: &Profile) -> i64 {
    let n = p.string_table.len() as i64;
    match rng.below(7) {
        0 => 0,
        1 => -1,
        2 => n,
        3 => n + 1,
        4 => *rng.pick(&[i64::MAX, i64::MIN, i32::MAX as i64]),
        _ => rng.below(n.max(1) as usize) as i64,
    }
}

/// An id that is wrong: dangling, 0, huge, or another existing one.
fn bad_id(rng: &mut Rng, existing: &[u64]) -> u64 {
    match rng.below(5) {
        0 => 0,
        1 => u64::MAX,
        2 => existing.iter().max().copied().unwrap_or(0) + 1,
        3 => 1 << 40,
        _ => existing
            .get(rng.below(existing.len()))
            .copied()
            .unwrap_or(7),
    }
}

/// Adds a string to the table and returns its index.
fn push_string(p: &mut Profile, s: &[u8]) -> i64 {
    p.string_table.push(s.to_vec());
    p.string_table.len() as i64 - 1
}

/// One semantic mutation of a decoded profile.
pub fn mutate(rng: &mut Rng, p: &mut Profile) {
    let location_ids: Vec<u64> = p.location.iter().map(|l| l.id).collect();
    let function_ids: Vec<u64> = p.function.iter().map(|f| f.id).collect();
    let mapping_ids: Vec<u64> = p.mapping.iter().map(|m| m.id).collect();
    let ns = p.sample.len();
    let nl = p.location.len();
    let nf = p.function.len();
    let nm = p.mapping.len();
    match rng.below(30) {
        // Dangling references.
        0 if ns > 0 => {
            let s = &mut p.sample[rng.below(ns)];
            let id = bad_id(rng, &[]);
            match s.location_id.is_empty() {
                true => s.location_id.push(id),
                false => {
                    let i = rng.below(s.location_id.len());
                    s.location_id[i] = id;
                }
            }
        }
        1 if nl > 0 => p.location[rng.below(nl)].mapping_id = bad_id(rng, &mapping_ids),
        2 if nl > 0 => {
            let l = &mut p.location[rng.below(nl)];
            let id = bad_id(rng, &function_ids);
            match l.line.is_empty() {
                true => l.line.push(Line {
                    function_id: id,
                    line: 1,
                    column: 0,
                }),
                false => {
                    let i = rng.below(l.line.len());
                    l.line[i].function_id = id;
                }
            }
        }
        // Duplicate and reserved ids.
        3 if nl > 1 => {
            let (a, b) = (rng.below(nl), rng.below(nl));
            p.location[a].id = p.location[b].id;
        }
        4 if nf > 1 => {
            let (a, b) = (rng.below(nf), rng.below(nf));
            p.function[a].id = p.function[b].id;
        }
        5 if nm > 0 => {
            let a = rng.below(nm);
            p.mapping[a].id = bad_id(rng, &mapping_ids);
        }
        6 => match rng.below(3) {
            0 if nl > 0 => p.location[rng.below(nl)].id = 0,
            1 if nf > 0 => p.function[rng.below(nf)].id = 0,
            _ if nm > 0 => p.mapping[rng.below(nm)].id = 0,
            _ => {}
        },
        // Recursion: a stack that repeats itself, a location listing one function many times.
        7 if ns > 0 && !location_ids.is_empty() => {
            let s = &mut p.sample[rng.below(ns)];
            let period = rng.range(1, 4);
            let cycle: Vec<u64> = (0..period).map(|_| *rng.pick(&location_ids)).collect();
            let times = rng.range(2, 2000);
            s.location_id = cycle.iter().cycle().take(period * times).copied().collect();
        }
        8 if nl > 0 && !function_ids.is_empty() => {
            let l = &mut p.location[rng.below(nl)];
            let f = *rng.pick(&function_ids);
            let times = rng.range(2, 500);
            l.line = (0..times)
                .map(|i| Line {
                    function_id: f,
                    line: i as i64,
                    column: 0,
                })
                .collect();
        }
        // Many samples, many sample types.
        9 if ns > 0 => {
            let s = p.sample[rng.below(ns)].clone();
            let times = rng.range(2, 5000);
            p.sample.extend(std::iter::repeat_n(s, times));
        }
        10 => {
            let extra = rng.range(1, 100);
            for i in 0..extra {
                let t = push_string(p, format!("type{i}").as_bytes());
                p.sample_type.push(ValueType { r#type: t, unit: t });
            }
            for s in &mut p.sample {
                s.value.extend(std::iter::repeat_n(1, extra));
            }
        }
        // The string table.
        11 => p.string_table.clear(),
        12 if !p.string_table.is_empty() => p.string_table[0] = b"not empty".to_vec(),
        13 if !p.string_table.is_empty() => {
            let keep = rng.below(p.string_table.len());
            p.string_table.truncate(keep.max(1));
        }
        14 if !p.string_table.is_empty() => {
            let i = rng.below(p.string_table.len());
            // Long names, but not 700 KB ones: a name copied per frame makes an analysis
            // quadratic (the CPU analysis did: tests/fuzz-regressions/profile/
            // long-name-in-many-frames.pb), and a CI run's outcome must not depend on how far
            // its time budget gets before the slow case.
            let s: Vec<u8> = if rng.chance(1, 8) {
                vec![b'x'; rng.range(1000, 16 << 10)]
            } else {
                rng.pick(HOSTILE_STRINGS).to_vec()
            };
            if i > 0 || rng.chance(1, 4) {
                p.string_table[i] = s;
            }
        }
        // String indices: 0 where a name is required, negative, out of range.
        15 => {
            let index = string_index(rng, p);
            match rng.below(12) {
                0 if nf > 0 => p.function[rng.below(nf)].name = index,
                1 if nf > 0 => p.function[rng.below(nf)].filename = index,
                2 if nf > 0 => p.function[rng.below(nf)].system_name = index,
                3 if !p.sample_type.is_empty() => {
                    let i = rng.below(p.sample_type.len());
                    p.sample_type[i].r#type = index;
                }
                4 if !p.sample_type.is_empty() => {
                    let i = rng.below(p.sample_type.len());
                    p.sample_type[i].unit = index;
                }
                5 if nm > 0 => p.mapping[rng.below(nm)].filename = index,
                6 if nm > 0 => p.mapping[rng.below(nm)].build_id = index,
                7 => p.drop_frames = index,
                8 => p.keep_frames = index,
                9 => p.default_sample_type = index,
                10 => p.comment.push(index),
                _ => {
                    p.period_type = Some(ValueType {
                        r#type: index,
                        unit: string_index(rng, p),
                    })
                }
            }
        }
        // Value counts that do not match the sample types.
        16 if ns > 0 => {
            let s = &mut p.sample[rng.below(ns)];
            match rng.below(3) {
                0 => {
                    s.value.pop();
                }
                1 => s.value.push(1),
                _ => s.value.clear(),
            }
        }
        17 => match rng.below(3) {
            0 => p.sample_type.clear(),
            1 => {
                p.sample_type.pop();
            }
            _ => {
                if let Some(t) = p.sample_type.first().cloned() {
                    p.sample_type.push(t);
                }
            }
        },
        // Numbers at their extremes.
        18 if ns > 0 => {
            let v = extreme_i64(rng);
            let all = rng.chance(1, 3);
            let column = rng.below(p.sample_type.len().max(1));
            let chosen = rng.below(ns);
            for (i, s) in p.sample.iter_mut().enumerate() {
                if (all || i == chosen)
                    && let Some(slot) = s.value.get_mut(column)
                {
                    *slot = v;
                }
            }
        }
        19 => p.period = extreme_i64(rng),
        20 => match rng.below(2) {
            0 => p.time_nanos = extreme_i64(rng),
            _ => p.duration_nanos = extreme_i64(rng),
        },
        21 if nl > 0 => {
            let l = &mut p.location[rng.below(nl)];
            match rng.below(3) {
                0 => l.address = extreme_u64(rng),
                1 => l.is_folded = !l.is_folded,
                _ => {
                    if let Some(line) = l.line.first_mut() {
                        line.line = extreme_i64(rng);
                    }
                }
            }
        }
        22 if nm > 0 => {
            let m = &mut p.mapping[rng.below(nm)];
            m.memory_start = extreme_u64(rng);
            m.memory_limit = extreme_u64(rng);
            m.file_offset = extreme_u64(rng);
            m.has_functions = rng.chance(1, 2);
            m.has_inline_frames = rng.chance(1, 2);
        }
        23 if nf > 0 => p.function[rng.below(nf)].start_line = extreme_i64(rng),
        // Labels of every shape.
        24 if ns > 0 => {
            let key = match rng.chance(1, 2) {
                true => push_string(p, rng.pick::<&[u8]>(HOSTILE_STRINGS)),
                false => push_string(p, b"bytes"),
            };
            let label = Label {
                key: if rng.chance(1, 5) {
                    string_index(rng, p)
                } else {
                    key
                },
                str: if rng.chance(1, 2) {
                    string_index(rng, p)
                } else {
                    0
                },
                num: extreme_i64(rng),
                num_unit: if rng.chance(1, 2) {
                    string_index(rng, p)
                } else {
                    0
                },
            };
            let times = rng.range(1, 50);
            let s = rng.below(ns);
            p.sample[s].label.extend(std::iter::repeat_n(label, times));
        }
        // Frame filters with patterns that are not valid regexes or match everything.
        25 => {
            let pattern = push_string(p, rng.pick::<&[u8]>(HOSTILE_STRINGS));
            if rng.chance(1, 2) {
                p.drop_frames = pattern;
            } else {
                p.keep_frames = pattern;
            }
        }
        // The default sample type names a type that does not exist.
        26 => p.default_sample_type = push_string(p, rng.pick::<&[u8]>(HOSTILE_STRINGS)),
        // Elements removed, leaving references to them.
        27 => match rng.below(3) {
            0 if nl > 0 => {
                p.location.remove(rng.below(nl));
            }
            1 if nf > 0 => {
                p.function.remove(rng.below(nf));
            }
            _ if nm > 0 => {
                p.mapping.remove(rng.below(nm));
            }
            _ => {}
        },
        // Sparse, huge, shuffled ids (consistently renumbered, so the profile stays valid).
        28 => {
            let shift = rng.range(20, 62) as u32;
            for l in &mut p.location {
                l.id |= l.id.wrapping_shl(shift);
            }
            for s in &mut p.sample {
                for id in &mut s.location_id {
                    *id |= id.wrapping_shl(shift);
                }
            }
            let n = p.location.len();
            for i in (1..n).rev() {
                let j = rng.below(i + 1);
                p.location.swap(i, j);
            }
        }
        // A very deep stack.
        _ if ns > 0 && !location_ids.is_empty() => {
            let depth = rng.range(1000, 20_000);
            let s = &mut p.sample[rng.below(ns)];
            s.location_id = (0..depth).map(|_| *rng.pick(&location_ids)).collect();
        }
        _ => p.period = extreme_i64(rng),
    }
}

// --- The wire format -------------------------------------------------------------------------

/// Bytes a repeated-field bomb may add: half a million entries of two bytes, enough for
/// the decoder to charge them to its memory budget (the fuzz targets' decodes under a tight
/// one refuse them) while an input stays quick to decode in a debug build.
const BOMB_BYTES: usize = 1 << 20;

/// A repeated-field bomb (issue 19): one entry of a repeated field — a string, a mapping, a
/// sample type, a sample, a comment; inside a message, a location's line, a sample's label
/// or values — repeated thousands to hundreds of thousands of times, often emptied first
/// (an empty string, an empty mapping, a line of no function). Each must decode or be
/// refused in one line, within the time limit.
pub fn bomb(rng: &mut Rng, data: &[u8]) -> Vec<u8> {
    let Some(list) = fields(data) else {
        return data.to_vec();
    };
    if list.is_empty() {
        return data.to_vec();
    }
    let f = *rng.pick(&list);
    let rest = &data[f.payload.1..];
    // One level down, now and then: the entries of a nested message's repeated field.
    if f.wire == 2 && rng.chance(1, 3) {
        let inner = &data[f.payload.0..f.payload.1];
        if fields(inner).is_some_and(|l| !l.is_empty()) {
            let mutated = bomb(rng, inner);
            let mut out = data[..f.tag_end].to_vec();
            write_varint(&mut out, mutated.len() as u64);
            out.extend_from_slice(&mutated);
            out.extend_from_slice(rest);
            return out;
        }
    }
    let entry = if f.wire == 2 && rng.chance(1, 2) {
        // The entry emptied: its tag and a length of 0.
        let mut empty = data[f.start..f.tag_end].to_vec();
        empty.push(0);
        empty
    } else {
        data[f.start..f.payload.1].to_vec()
    };
    let most = (BOMB_BYTES / entry.len()).max(1);
    let times = if rng.chance(1, 2) {
        most
    } else {
        rng.range(most.min(1000), most)
    };
    let mut out = Vec::with_capacity(data.len() + entry.len() * times);
    out.extend_from_slice(&data[..f.start]);
    for _ in 0..times {
        out.extend_from_slice(&entry);
    }
    out.extend_from_slice(rest);
    out
}

fn read_varint(data: &[u8], mut at: usize) -> Option<(u64, usize)> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *data.get(at)?;
        at += 1;
        value |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return Some((value, at));
        }
    }
    None
}

fn write_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// A varint padded with continuation bytes to `width` bytes: still valid up to 10 bytes
/// (decoders must accept non-minimal encodings), an overflow past that.
fn write_padded_varint(out: &mut Vec<u8>, mut v: u64, width: usize) {
    for _ in 0..width.saturating_sub(1) {
        out.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    out.push(v as u8 & 0x7f);
}

/// One field of a message: where its tag, its length (for length-delimited fields) and
/// its payload are.
#[derive(Debug, Clone, Copy)]
struct Field {
    start: usize,
    /// First byte after the tag.
    tag_end: usize,
    number: u64,
    wire: u8,
    /// The payload (for varints: the varint itself).
    payload: (usize, usize),
}

/// The fields of a message, or `None` when the bytes are not a well-formed message.
fn fields(data: &[u8]) -> Option<Vec<Field>> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < data.len() {
        let start = at;
        let (tag, tag_end) = read_varint(data, at)?;
        let wire = (tag & 7) as u8;
        let number = tag >> 3;
        let payload = match wire {
            0 => {
                let (_, end) = read_varint(data, tag_end)?;
                (tag_end, end)
            }
            1 => (tag_end, tag_end.checked_add(8)?),
            2 => {
                let (len, len_end) = read_varint(data, tag_end)?;
                (len_end, len_end.checked_add(usize::try_from(len).ok()?)?)
            }
            5 => (tag_end, tag_end.checked_add(4)?),
            _ => return None,
        };
        if payload.1 > data.len() {
            return None;
        }
        at = payload.1;
        out.push(Field {
            start,
            tag_end,
            number,
            wire,
            payload,
        });
    }
    Some(out)
}

/// Every field boundary of the top-level message: where a cut leaves a well-formed but
/// incomplete profile.
pub fn field_boundaries(data: &[u8]) -> Vec<usize> {
    fields(data)
        .map(|f| f.iter().map(|f| f.start).collect())
        .unwrap_or_default()
}

/// One wire-level mutation, in the top-level message or (recursively) in a nested one.
pub fn wire(rng: &mut Rng, data: &[u8]) -> Vec<u8> {
    let Some(list) = fields(data) else {
        return data.to_vec();
    };
    if list.is_empty() {
        return data.to_vec();
    }
    let f = *rng.pick(&list);
    let mut out = data[..f.start].to_vec();
    let rest = &data[f.payload.1..];
    let tag = (f.number << 3) | u64::from(f.wire);
    match rng.below(12) {
        // Overlong but valid tag, or an overflowing one.
        0 => {
            write_padded_varint(&mut out, tag, rng.range(2, 12));
            out.extend_from_slice(&data[f.tag_end..]);
        }
        // A varint value of 10+ bytes: the 10th byte may only hold one bit.
        1 => {
            out.extend_from_slice(&data[f.start..f.tag_end]);
            match f.wire {
                0 => {
                    let overflow = *rng.pick::<&[u8]>(&[
                        &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f],
                        &[
                            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
                        ],
                        &[
                            0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00,
                        ],
                        &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
                    ]);
                    out.extend_from_slice(overflow);
                }
                _ => {
                    let (len, _) = read_varint(data, f.tag_end).unwrap_or((0, 0));
                    write_padded_varint(&mut out, len, rng.range(2, 12));
                    out.extend_from_slice(&data[f.payload.0..f.payload.1]);
                }
            }
            out.extend_from_slice(rest);
        }
        // A huge or off-by-one length prefix.
        2 if f.wire == 2 => {
            out.extend_from_slice(&data[f.start..f.tag_end]);
            let len = (f.payload.1 - f.payload.0) as u64;
            let remaining = (data.len() - f.payload.0) as u64;
            let huge = *rng.pick(&[
                u64::MAX,
                u32::MAX as u64,
                i32::MAX as u64,
                1 << 31,
                1 << 40,
                len + 1,
                remaining + 1,
            ]);
            write_varint(&mut out, huge);
            out.extend_from_slice(&data[f.payload.0..]);
        }
        // A wrong wire type for the field.
        3 => {
            write_varint(&mut out, (f.number << 3) | rng.below(8) as u64);
            out.extend_from_slice(&data[f.tag_end..]);
        }
        // Field number 0, or the largest one, with the same payload.
        4 => {
            let number = *rng.pick(&[0u64, (1 << 29) - 1, 15, 16, 99]);
            write_varint(&mut out, (number << 3) | u64::from(f.wire));
            out.extend_from_slice(&data[f.tag_end..]);
        }
        // Groups that never end, nested deeply.
        5 => {
            let depth = rng.range(1, 200);
            for _ in 0..depth {
                write_varint(&mut out, (99 << 3) | 3);
            }
            out.extend_from_slice(&data[f.start..]);
        }
        // A field dropped, or repeated.
        6 => out.extend_from_slice(rest),
        7 => {
            let times = rng.range(2, 100);
            for _ in 0..times {
                out.extend_from_slice(&data[f.start..f.payload.1]);
            }
            out.extend_from_slice(rest);
        }
        // The field moved to the end (field order must not matter).
        8 => {
            out.extend_from_slice(rest);
            out.extend_from_slice(&data[f.start..f.payload.1]);
        }
        // A mutation inside a nested message, with the length fixed up (or not).
        _ if f.wire == 2 => {
            let inner = &data[f.payload.0..f.payload.1];
            let mutated = if rng.chance(1, 3) {
                let mut m = inner.to_vec();
                crate::mutate::bytes(rng, &mut m, &[]);
                m
            } else {
                wire(rng, inner)
            };
            out.extend_from_slice(&data[f.start..f.tag_end]);
            let len = if rng.chance(1, 8) {
                inner.len()
            } else {
                mutated.len()
            };
            write_varint(&mut out, len as u64);
            out.extend_from_slice(&mutated);
            out.extend_from_slice(rest);
        }
        _ => {
            // A varint field set to an extreme value.
            out.extend_from_slice(&data[f.start..f.tag_end]);
            if f.wire == 0 {
                write_varint(&mut out, extreme_u64(rng));
                out.extend_from_slice(rest);
            } else {
                out.extend_from_slice(&data[f.tag_end..]);
            }
        }
    }
    out
}
