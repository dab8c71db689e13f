//! Writing a [`Profile`] back as profile.proto (prost), gzipped as `go tool pprof -proto`
//! writes it: ids are renumbered `1..=n` in model order and strings interned into a fresh
//! table, so any model (decoded, merged, built) encodes to a profile that decodes to itself.

use std::io::Write;

use prost::Message;
use rustc_hash::FxHashMap;

use super::model::{Labels, Profile, ValueType};
use super::proto;

/// The string table being built: entry 0 is the empty string, as profile.proto requires.
struct Strings {
    table: Vec<Vec<u8>>,
    index: FxHashMap<String, i64>,
}

impl Strings {
    fn new() -> Self {
        let mut strings = Strings {
            table: Vec::new(),
            index: FxHashMap::default(),
        };
        strings.get("");
        strings
    }

    fn get(&mut self, text: &str) -> i64 {
        if let Some(&i) = self.index.get(text) {
            return i;
        }
        let i = self.table.len() as i64;
        self.table.push(text.as_bytes().to_vec());
        self.index.insert(text.to_string(), i);
        i
    }

    fn value_type(&mut self, t: &ValueType) -> proto::ValueType {
        proto::ValueType {
            r#type: self.get(&t.kind),
            unit: self.get(&t.unit),
        }
    }
}

/// The profile as profile.proto's messages.
fn to_proto(profile: &Profile) -> proto::Profile {
    let mut s = Strings::new();
    let sample_type = profile
        .sample_types
        .iter()
        .map(|t| s.value_type(t))
        .collect();
    let sample = profile
        .samples()
        .map(|sample| proto::Sample {
            location_id: sample.locations().map(|l| l as u64 + 1).collect(),
            value: sample.values().to_vec(),
            label: labels(sample.labels(), &mut s),
        })
        .collect();
    let mapping = profile
        .mappings
        .iter()
        .enumerate()
        .map(|(i, m)| proto::Mapping {
            id: i as u64 + 1,
            memory_start: m.memory_start,
            memory_limit: m.memory_limit,
            file_offset: m.file_offset,
            filename: s.get(&m.filename),
            build_id: s.get(&m.build_id),
            has_functions: m.has_functions,
            has_filenames: m.has_filenames,
            has_line_numbers: m.has_line_numbers,
            has_inline_frames: m.has_inline_frames,
        })
        .collect();
    let location = profile
        .locations
        .iter()
        .enumerate()
        .map(|(i, l)| proto::Location {
            id: i as u64 + 1,
            mapping_id: l.mapping.map_or(0, |m| m as u64 + 1),
            address: l.address,
            line: l
                .lines
                .iter()
                .map(|line| proto::Line {
                    function_id: line.function as u64 + 1,
                    line: line.line,
                    column: line.column,
                })
                .collect(),
            is_folded: l.is_folded,
        })
        .collect();
    let function = profile
        .functions
        .iter()
        .enumerate()
        .map(|(i, f)| proto::Function {
            id: i as u64 + 1,
            name: s.get(&f.name),
            system_name: s.get(&f.system_name),
            filename: s.get(&f.filename),
            start_line: f.start_line,
        })
        .collect();
    let comment = profile.comments.iter().map(|c| s.get(c)).collect();
    let drop_frames = s.get(&profile.drop_frames);
    let keep_frames = s.get(&profile.keep_frames);
    let period_type = profile.period_type.as_ref().map(|t| s.value_type(t));
    let default_sample_type = s.get(profile.default_sample_type.as_deref().unwrap_or(""));
    let doc_url = s.get(&profile.doc_url);
    proto::Profile {
        sample_type,
        sample,
        mapping,
        location,
        function,
        string_table: s.table,
        drop_frames,
        keep_frames,
        time_nanos: profile.time_nanos,
        duration_nanos: profile.duration_nanos,
        period_type,
        period: profile.period,
        comment,
        default_sample_type,
        doc_url,
    }
}

/// A sample's labels as pprof writes them: string labels, then numeric ones with their unit
/// where one is known, each group by key (the model keeps keys sorted).
fn labels(labels: &Labels, s: &mut Strings) -> Vec<proto::Label> {
    let mut out = Vec::new();
    for (key, values) in &labels.strings {
        let key = s.get(key);
        for value in values {
            out.push(proto::Label {
                key,
                str: s.get(value),
                num: 0,
                num_unit: 0,
            });
        }
    }
    for (key, values) in &labels.numbers {
        let units = labels.number_units.get(key);
        let key_index = s.get(key);
        for (i, &num) in values.iter().enumerate() {
            let unit = units.and_then(|u| u.get(i)).map_or("", String::as_str);
            out.push(proto::Label {
                key: key_index,
                str: 0,
                num,
                num_unit: s.get(unit),
            });
        }
    }
    out
}

/// The profile as uncompressed profile.proto bytes.
pub fn encode(profile: &Profile) -> Vec<u8> {
    to_proto(profile).encode_to_vec()
}

/// The profile as gzipped profile.proto bytes: the on-disk form profile.proto asks for, and
/// what `go build -pgo` and `go tool pprof` read.
pub fn encode_gzip(profile: &Profile) -> std::io::Result<Vec<u8>> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&encode(profile))?;
    gz.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{DecodeOptions, Line, Location, Mapping, ProfileBuilder, decode};

    #[test]
    fn a_profile_encodes_to_one_that_decodes_to_itself() {
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
        let f = b.function("main.work", "/src/main.go");
        let g = b.function("main.main", "/src/main.go");
        let leaf = b.location(
            0x1010,
            &[Line {
                function: f,
                line: 12,
                column: 7,
            }],
        );
        let root = b.location(
            0x1020,
            &[Line {
                function: g,
                line: 30,
                column: 0,
            }],
        );
        let mut labels = Labels::default();
        labels.strings.insert("tenant".into(), vec!["a".into()]);
        labels.numbers.insert("bytes".into(), vec![4096]);
        labels
            .number_units
            .insert("bytes".into(), vec!["bytes".into()]);
        b.sample(&[leaf, root], &[3, 30_000_000], labels).unwrap();
        b.sample(&[root], &[1, 10_000_000], Labels::default())
            .unwrap();
        let p = b.profile_mut();
        p.mappings.push(Mapping {
            id: 1,
            memory_start: 0x1000,
            memory_limit: 0x2000,
            filename: "/bin/app".into(),
            build_id: "abc".into(),
            has_functions: true,
            ..Mapping::default()
        });
        p.locations.iter_mut().for_each(|l: &mut Location| {
            l.mapping = Some(0);
        });
        p.period_type = Some(ValueType {
            kind: "cpu".into(),
            unit: "nanoseconds".into(),
        });
        p.period = 10_000_000;
        p.time_nanos = 1_700_000_000_000_000_000;
        p.duration_nanos = 60_000_000_000;
        p.comments = vec!["a comment".into()];
        p.doc_url = "https://example.com/cpu.html".into();
        let built = b.finish();
        let bytes = encode_gzip(&built).unwrap();
        let decoded = decode(&bytes, &DecodeOptions::default()).unwrap();
        assert_eq!(decoded, built);
    }
}
