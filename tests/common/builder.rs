//! A profile.proto writer with an interned string table, for hand-made profiles in the
//! exact shape another profiler writes (field numbers as in google/pprof's profile.proto).

use super::{Pb, ProfileBuilder};

/// The shared writer (`ProfileBuilder`: string table, header fields) with the messages in the
/// shape other profilers write: fields they leave out are left out.
pub struct Builder {
    inner: ProfileBuilder,
}

impl Builder {
    pub fn new() -> Self {
        Builder {
            inner: ProfileBuilder::new(),
        }
    }

    /// The string's index in the table, added on first use.
    pub fn s(&mut self, text: &str) -> i64 {
        self.inner.s(text)
    }

    fn field(&mut self, f: impl FnOnce(Pb) -> Pb) {
        self.inner.field(f);
    }

    pub fn sample_type(&mut self, kind: &str, unit: &str) {
        self.inner.sample_type(kind, unit);
    }

    pub fn period_type(&mut self, kind: &str, unit: &str, period: i64) {
        self.inner.period_type(kind, unit, period);
    }

    pub fn default_sample_type(&mut self, kind: &str) {
        self.inner.default_sample_type(kind);
    }

    pub fn comment(&mut self, text: &str) {
        self.inner.comment(text);
    }

    /// A mapping; `has_functions` as the profiler sets it.
    pub fn mapping(&mut self, id: u64, start: u64, limit: u64, file: &str, has_functions: bool) {
        let f = self.s(file);
        self.field(|b| {
            b.msg(
                3,
                Pb::default()
                    .uint(1, id)
                    .uint(2, start)
                    .uint(3, limit)
                    .int(5, f)
                    .uint(7, u64::from(has_functions)),
            )
        });
    }

    /// A function; empty strings are written as index 0, as profilers that leave a field
    /// out do.
    pub fn function(&mut self, id: u64, name: &str, system_name: &str, file: &str, start: i64) {
        let (n, sn, f) = (self.s(name), self.s(system_name), self.s(file));
        self.field(|b| {
            b.msg(
                5,
                Pb::default()
                    .uint(1, id)
                    .int(2, n)
                    .int(3, sn)
                    .int(4, f)
                    .int(5, start),
            )
        });
    }

    /// A location with frames (function id, line), innermost first; mapping 0 and address 0
    /// are left out of the message, as async-profiler leaves them out.
    pub fn location(&mut self, id: u64, mapping: u64, address: u64, lines: &[(u64, i64)]) {
        let mut loc = Pb::default().uint(1, id);
        if mapping != 0 {
            loc = loc.uint(2, mapping);
        }
        if address != 0 {
            loc = loc.uint(3, address);
        }
        for &(function, line) in lines {
            loc = loc.msg(4, Pb::default().uint(1, function).int(2, line));
        }
        self.field(|b| b.msg(4, loc));
    }

    /// A location whose frames carry a column too (function id, line, column), as
    /// profile.proto allows since 2023.
    pub fn location_with_columns(
        &mut self,
        id: u64,
        mapping: u64,
        address: u64,
        lines: &[(u64, i64, i64)],
    ) {
        let mut loc = Pb::default().uint(1, id).uint(2, mapping).uint(3, address);
        for &(function, line, column) in lines {
            loc = loc.msg(
                4,
                Pb::default().uint(1, function).int(2, line).int(3, column),
            );
        }
        self.field(|b| b.msg(4, loc));
    }

    /// profile.proto's `doc_url` (field 15, a string index).
    pub fn doc_url(&mut self, url: &str) {
        let u = self.s(url);
        self.field(|b| b.int(15, u));
    }

    /// A sample: location ids leaf first, values, and string labels.
    pub fn sample(&mut self, locations: &[u64], values: &[i64], labels: &[(&str, &str)]) {
        let mut s = Pb::default();
        for &l in locations {
            s = s.uint(1, l);
        }
        for &v in values {
            s = s.int(2, v);
        }
        for &(k, v) in labels {
            let (k, v) = (self.s(k), self.s(v));
            s = s.msg(3, Pb::default().int(1, k).int(2, v));
        }
        self.field(|b| b.msg(2, s));
    }

    /// time_nanos and duration_nanos (a zero is left out, as proto3 leaves it out).
    pub fn times(&mut self, time: i64, duration: i64) {
        self.field(|b| {
            let b = if time != 0 { b.int(9, time) } else { b };
            if duration != 0 {
                b.int(10, duration)
            } else {
                b
            }
        });
    }

    pub fn finish(self) -> Vec<u8> {
        self.inner.finish()
    }
}
