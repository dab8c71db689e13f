//! Mutators that know nothing of protobuf: bytes, lines of text, and YAML trees.

use crate::harness::Rng;

/// Values that break parsers more often than random ones.
const INTERESTING_BYTES: &[u8] = &[
    0x00, 0x01, 0x7f, 0x80, 0xff, b'\n', b'\r', b'\t', b' ', b'0',
];

/// Largest input a mutation may produce: big enough for quadratic behaviour to show, small
/// enough that a run stays fast.
pub const MAX_LEN: usize = 4 << 20;

/// One generic byte mutation: bit flip, byte replacement, truncation, insertion,
/// duplication of a chunk, deletion, or a splice with another corpus entry.
pub fn bytes(rng: &mut Rng, data: &mut Vec<u8>, corpus: &[Vec<u8>]) {
    let len = data.len();
    match rng.below(11) {
        0 if len > 0 => {
            let i = rng.below(len);
            data[i] ^= 1 << rng.below(8);
        }
        1 if len > 0 => {
            let i = rng.below(len);
            data[i] = *rng.pick(INTERESTING_BYTES);
        }
        2 if len > 0 => {
            let i = rng.below(len);
            data[i] = rng.next_u64() as u8;
        }
        3 => data.truncate(rng.below(len + 1)),
        4 => {
            let at = rng.below(len + 1);
            let n = rng.range(1, 16);
            let insert: Vec<u8> = (0..n).map(|_| rng.next_u64() as u8).collect();
            data.splice(at..at, insert);
        }
        5 if len > 0 => {
            // A chunk copied elsewhere, possibly many times (repeated structures).
            let start = rng.below(len);
            let end = (start + rng.range(1, 256)).min(len);
            let chunk = data[start..end].to_vec();
            let times = if rng.chance(1, 8) {
                rng.range(2, 200)
            } else {
                1
            };
            let at = rng.below(len + 1);
            let mut insert = Vec::new();
            for _ in 0..times {
                insert.extend_from_slice(&chunk);
            }
            data.splice(at..at, insert);
        }
        6 if len > 0 => {
            let start = rng.below(len);
            let end = (start + rng.range(1, 64)).min(len);
            data.drain(start..end);
        }
        7 if !corpus.is_empty() => {
            let other = rng.pick(corpus);
            let cut = rng.below(len + 1);
            let from = rng.below(other.len() + 1);
            data.truncate(cut);
            data.extend_from_slice(&other[from..]);
        }
        8 if len >= 4 => {
            // A little-endian 16/32/64-bit extreme written over the data.
            let values: [u64; 6] = [0, 1, u64::MAX, i64::MAX as u64, 1 << 31, 0x7fff_ffff];
            let value = *rng.pick(&values);
            let width = *rng.pick(&[2usize, 4, 8]);
            let at = rng.below(len);
            for (k, b) in value.to_le_bytes().iter().take(width).enumerate() {
                if let Some(slot) = data.get_mut(at + k) {
                    *slot = *b;
                }
            }
        }
        9 if len > 1 => {
            // Two bytes swapped.
            let (a, b) = (rng.below(len), rng.below(len));
            data.swap(a, b);
        }
        _ => {
            let at = rng.below(len + 1);
            data.insert(at, *rng.pick(INTERESTING_BYTES));
        }
    }
    data.truncate(MAX_LEN);
}

/// Lines, each with its own ending.
fn split_lines(data: &[u8]) -> Vec<Vec<u8>> {
    data.split_inclusive(|&b| b == b'\n')
        .map(<[u8]>::to_vec)
        .collect()
}

/// Absurd numbers for the places where a count, an id, a line or a duration is read.
pub const ABSURD_NUMBERS: &[&str] = &[
    "0",
    "-1",
    "-0",
    "999999999999999999999",
    "18446744073709551615",
    "18446744073709551616",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "4294967296",
    "1e999",
    "NaN",
    "00000000000000000000000001",
    "0x",
    "",
];

/// One line-aware text mutation: lines cut, duplicated, swapped or replaced from the
/// dictionary; numbers replaced by absurd ones; very long lines; invalid UTF-8; line-ending
/// changes; a cut at a line boundary. Falls back to a byte mutation now and then.
pub fn text(rng: &mut Rng, data: &mut Vec<u8>, dictionary: &[&str], corpus: &[Vec<u8>]) {
    if rng.chance(1, 6) {
        bytes(rng, data, corpus);
        return;
    }
    let mut lines = split_lines(data);
    let n = lines.len();
    match rng.below(15) {
        0 if n > 0 => {
            let start = rng.below(n);
            let end = (start + rng.range(1, 4)).min(n);
            lines.drain(start..end);
        }
        1 if n > 0 => {
            let i = rng.below(n);
            let times = if rng.chance(1, 6) {
                rng.range(2, 2000)
            } else {
                1
            };
            let line = lines[i].clone();
            for _ in 0..times {
                lines.insert(i, line.clone());
            }
        }
        2 if n > 1 => {
            let (a, b) = (rng.below(n), rng.below(n));
            lines.swap(a, b);
        }
        3 if !dictionary.is_empty() => {
            let at = rng.below(n + 1);
            let word = rng.pick(dictionary).as_bytes().to_vec();
            if rng.chance(1, 2) && at < n {
                lines[at] = word;
            } else {
                lines.insert(at, word);
            }
        }
        4 if n > 0 => {
            let i = rng.below(n);
            lines[i] = replace_number(rng, &lines[i]);
        }
        5 if n > 0 => {
            // A very long line: one field repeated, or a run of one character.
            let i = rng.below(n);
            let ending = lines[i].ends_with(b"\n");
            let mut line = lines[i].clone();
            if ending {
                line.pop();
            }
            let filler = *rng.pick::<&[u8]>(&[b"a", b"\t", b" 0x1", b" ", b"(", b"\xff"]);
            let count = rng.range(1000, 200_000);
            for _ in 0..count / filler.len().max(1) {
                line.extend_from_slice(filler);
            }
            if ending {
                line.push(b'\n');
            }
            lines[i] = line;
        }
        6 if n > 0 => {
            // Invalid UTF-8 inside a line.
            let i = rng.below(n);
            let at = rng.below(lines[i].len() + 1);
            let bad =
                *rng.pick::<&[u8]>(&[b"\xff", b"\xc3", b"\xe2\x82", b"\xed\xa0\x80", b"\x00"]);
            lines[i].splice(at..at, bad.iter().copied());
        }
        7 => {
            // Line endings: all CRLF, one CRLF, bare CRs, or none at the end.
            match rng.below(4) {
                0 => {
                    for line in &mut lines {
                        if line.ends_with(b"\n") && !line.ends_with(b"\r\n") {
                            line.pop();
                            line.extend_from_slice(b"\r\n");
                        }
                    }
                }
                1 if n > 0 => {
                    let i = rng.below(n);
                    if lines[i].ends_with(b"\n") && !lines[i].ends_with(b"\r\n") {
                        lines[i].pop();
                        lines[i].extend_from_slice(b"\r\n");
                    }
                }
                2 if n > 0 => {
                    let i = rng.below(n);
                    if let Some(last) = lines[i].last_mut()
                        && *last == b'\n'
                    {
                        *last = b'\r';
                    }
                }
                _ => {
                    if let Some(last) = lines.last_mut() {
                        while last.ends_with(b"\n") || last.ends_with(b"\r") {
                            last.pop();
                        }
                    }
                }
            }
        }
        8 => {
            let at = rng.below(n + 1);
            lines.truncate(at);
        }
        9 if n > 0 => {
            // A line cut in the middle, the rest of the file kept.
            let i = rng.below(n);
            let cut = rng.below(lines[i].len() + 1);
            lines[i].truncate(cut);
        }
        10 => {
            let at = rng.below(n + 1);
            let blank = *rng.pick::<&[u8]>(&[b"\n", b"\r\n", b"   \n", b"\t\n"]);
            lines.insert(at, blank.to_vec());
        }
        11 => lines.retain(|l| !l.iter().all(u8::is_ascii_whitespace) || rng.chance(1, 2)),
        12 if n > 0 => {
            // Indentation changed: tabs to spaces, or a leading space added or removed.
            let i = rng.below(n);
            match rng.below(3) {
                0 => {
                    for b in lines[i].iter_mut() {
                        if *b == b'\t' {
                            *b = b' ';
                        }
                    }
                }
                1 => lines[i].insert(0, if rng.chance(1, 2) { b' ' } else { b'\t' }),
                _ => {
                    if lines[i].first().is_some_and(|b| b.is_ascii_whitespace()) {
                        lines[i].remove(0);
                    }
                }
            }
        }
        13 if !corpus.is_empty() => {
            // Lines from another file of the same kind.
            let other = split_lines(rng.pick::<Vec<u8>>(corpus));
            if !other.is_empty() {
                let start = rng.below(other.len());
                let end = (start + rng.range(1, 20)).min(other.len());
                let at = rng.below(n + 1);
                lines.splice(at..at, other[start..end].iter().cloned());
            }
        }
        _ if n > 0 => {
            // A token swapped for another token of the same line or of the dictionary.
            let i = rng.below(n);
            lines[i] = replace_token(rng, &lines[i], dictionary);
        }
        _ => bytes(rng, data, corpus),
    }
    if !lines.is_empty() {
        *data = lines.concat();
    }
    data.truncate(MAX_LEN);
}

/// The line with one of its numbers (a run of digits) replaced by an absurd one.
fn replace_number(rng: &mut Rng, line: &[u8]) -> Vec<u8> {
    let runs: Vec<(usize, usize)> = {
        let mut runs = Vec::new();
        let mut i = 0;
        while i < line.len() {
            if line[i].is_ascii_digit() {
                let start = i;
                while i < line.len() && line[i].is_ascii_digit() {
                    i += 1;
                }
                runs.push((start, i));
            } else {
                i += 1;
            }
        }
        runs
    };
    let absurd = rng.pick(ABSURD_NUMBERS).as_bytes();
    let mut out = line.to_vec();
    match runs.is_empty() {
        true => {
            let at = rng.below(out.len() + 1);
            out.splice(at..at, absurd.iter().copied());
        }
        false => {
            let (start, end) = *rng.pick(&runs);
            out.splice(start..end, absurd.iter().copied());
        }
    }
    out
}

/// The line with one whitespace-separated token replaced.
fn replace_token(rng: &mut Rng, line: &[u8], dictionary: &[&str]) -> Vec<u8> {
    let tokens: Vec<(usize, usize)> = {
        let mut tokens = Vec::new();
        let mut i = 0;
        while i < line.len() {
            if line[i].is_ascii_whitespace() {
                i += 1;
                continue;
            }
            let start = i;
            while i < line.len() && !line[i].is_ascii_whitespace() {
                i += 1;
            }
            tokens.push((start, i));
        }
        tokens
    };
    if tokens.is_empty() {
        return line.to_vec();
    }
    let (start, end) = *rng.pick(&tokens);
    let replacement: Vec<u8> = if !dictionary.is_empty() && rng.chance(1, 2) {
        rng.pick(dictionary).trim_end().as_bytes().to_vec()
    } else {
        let (s, e) = *rng.pick(&tokens);
        line[s..e].to_vec()
    };
    let mut out = line.to_vec();
    out.splice(start..end, replacement);
    out
}

/// YAML that attacks the parser itself: alias bombs ("billion laughs"), deep nesting,
/// self-referencing anchors, merge keys, tags and odd scalars.
pub fn yaml_attacks() -> Vec<String> {
    let mut out = Vec::new();
    let mut laughs = String::from(
        "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];
    for pair in names.windows(2) {
        let refs = vec![format!("*{}", pair[0]); 9].join(",");
        laughs.push_str(&format!("{}: &{} [{refs}]\n", pair[1], pair[1]));
    }
    out.push(laughs.clone());
    out.push(format!("{laughs}host: *i\n"));
    out.push(format!("{}]\n", "[".repeat(20_000)));
    out.push(format!("{}\n", "{a: ".repeat(5_000)));
    out.push("- ".repeat(5_000) + "x\n");
    out.push("&a [*a]\n".to_string());
    out.push("host: &h storage\nservice: *h\nnotes: *nope\n".to_string());
    out.push("<<: {host: x}\nhost: y\n".to_string());
    out.push("host: !!binary aGVsbG8=\n".to_string());
    out.push("? [complex, key]\n: value\n".to_string());
    out.push("--- a\n--- b\n".to_string());
    out.push("%YAML 1.2\n---\nhost: x\n".to_string());
    out.push("host: \"\\uD800\"\n".to_string());
    out.push("\u{feff}host: bom\n".to_string());
    out.push("host: x\nhost: y\n".to_string());
    out
}

/// Scalars of every type, for the tree mutator.
fn odd_scalar(rng: &mut Rng) -> yaml_serde::Value {
    use yaml_serde::Value;
    match rng.below(16) {
        0 => Value::Null,
        1 => Value::Bool(rng.chance(1, 2)),
        2 => Value::Number(i64::MIN.into()),
        3 => Value::Number(u64::MAX.into()),
        4 => Value::Number(f64::NAN.into()),
        5 => Value::Number(f64::INFINITY.into()),
        6 => Value::Number(f64::NEG_INFINITY.into()),
        7 => Value::Number((-1).into()),
        8 => Value::Number(0.into()),
        9 => Value::Number(1e300.into()),
        10 => Value::String((*rng.pick(&["", "high\nlow", "a\r\nb", "\t", "x\u{7}"])).to_string()),
        11 => Value::String("x".repeat(rng.range(1, 100_000))),
        12 => Value::Sequence(vec![Value::Null; rng.range(0, 3)]),
        13 => Value::Mapping(yaml_serde::Mapping::new()),
        _ => Value::String(
            (*rng.pick(&[
                "2.8GB",
                "1e400GB",
                "-1KB",
                "NaNGB",
                "infGB",
                "18446744073709551616",
                "1KiB1",
                "99999999999h",
                "1e308s",
                "-5m",
                "NaN",
                "inf",
                "1h2m3s4ms5us6ns",
                "0s",
                "2-5",
                "5-2",
                "-1-3",
                "1-",
                "-",
                "99999999999999999999-1",
                "1.5-2.5",
                ".",
                "1..2",
                "0x10",
                "1_000",
                "(",
                "a{1000}{1000}",
                "[",
                "\\",
                ".*",
                "medium",
                "high",
                "cpu_function",
                "{value}",
                "{value2}",
                "{subject}",
                "{",
                "}",
                "{{",
                "}}",
                "{% raw %}",
                "{{ x }}",
            ]))
            .to_string(),
        ),
    }
}

/// One structural YAML mutation: parse, change one node (wrong type, odd scalar, deep
/// nesting, duplicated or deleted entries, a renamed key), serialize again. `None` when the
/// text does not parse as YAML.
pub fn yaml_tree(rng: &mut Rng, text: &[u8]) -> Option<Vec<u8>> {
    use yaml_serde::Value;
    let text = std::str::from_utf8(text).ok()?;
    let mut root: Value = yaml_serde::from_str(text).ok()?;
    let mut count = 0;
    count_nodes(&root, &mut count);
    let target = rng.below(count.max(1));
    let mut seen = 0;
    mutate_node(rng, &mut root, target, &mut seen);
    yaml_serde::to_string(&root).ok().map(String::into_bytes)
}

fn count_nodes(value: &yaml_serde::Value, count: &mut usize) {
    use yaml_serde::Value;
    *count += 1;
    match value {
        Value::Sequence(items) => items.iter().for_each(|v| count_nodes(v, count)),
        Value::Mapping(map) => map.values().for_each(|v| count_nodes(v, count)),
        Value::Tagged(t) => count_nodes(&t.value, count),
        _ => {}
    }
}

fn mutate_node(rng: &mut Rng, value: &mut yaml_serde::Value, target: usize, seen: &mut usize) {
    use yaml_serde::Value;
    if *seen == target {
        *seen += 1;
        match rng.below(8) {
            0..=2 => *value = odd_scalar(rng),
            3 => {
                // Deep nesting around the node.
                let depth = rng.range(2, 300);
                for _ in 0..depth {
                    *value = Value::Sequence(vec![std::mem::take(value)]);
                }
            }
            4 => match value {
                Value::Sequence(items) if !items.is_empty() => {
                    let i = rng.below(items.len());
                    let times = rng.range(1, 500);
                    let item = items[i].clone();
                    for _ in 0..times {
                        items.push(item.clone());
                    }
                }
                Value::Mapping(map) if !map.is_empty() => {
                    let i = rng.below(map.len());
                    let key = map.keys().nth(i).cloned();
                    if let Some(key) = key {
                        map.remove(&key);
                    }
                }
                _ => *value = Value::Sequence(vec![std::mem::take(value)]),
            },
            5 => {
                // The node wrapped in a mapping with an unknown key.
                let mut map = yaml_serde::Mapping::new();
                map.insert(Value::String("unknown".to_string()), std::mem::take(value));
                *value = Value::Mapping(map);
            }
            6 => {
                if let Value::Mapping(map) = value
                    && !map.is_empty()
                {
                    // A key renamed (a typo) or its value swapped with another's.
                    let keys: Vec<Value> = map.keys().cloned().collect();
                    let a = rng.pick(&keys).clone();
                    let b = rng.pick(&keys).clone();
                    let (va, vb) = (map.get(&a).cloned(), map.get(&b).cloned());
                    if let (Some(va), Some(vb)) = (va, vb) {
                        map.insert(a, vb);
                        map.insert(b, va);
                    }
                } else {
                    *value = odd_scalar(rng);
                }
            }
            _ => {
                if let Value::Number(_) | Value::String(_) = value {
                    let text = match value {
                        Value::Number(n) => n.to_string(),
                        Value::String(s) => s.clone(),
                        _ => String::new(),
                    };
                    *value = Value::String(format!("{text}{}", rng.pick(ABSURD_NUMBERS)));
                } else {
                    *value = odd_scalar(rng);
                }
            }
        }
        return;
    }
    *seen += 1;
    match value {
        Value::Sequence(items) => {
            for v in items {
                mutate_node(rng, v, target, seen);
            }
        }
        Value::Mapping(map) => {
            for (_, v) in map.iter_mut() {
                mutate_node(rng, v, target, seen);
            }
        }
        Value::Tagged(t) => mutate_node(rng, &mut t.value, target, seen),
        _ => {}
    }
}
