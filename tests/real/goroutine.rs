//! The goroutine dump parser on the real set's debug=1 dump.

use pprof_report::dump::{DumpFormat, parse};

use crate::common::goroutines::assert_consistent;
use crate::{PREFIX, SET, real};

/// The production dump: the sum of the counts must be the header total.
#[test]
#[ignore = "needs ../shared/real, outside the repository"]
fn real_tsnsrv_debug1_dump() {
    let path = real(&format!("{SET}/{PREFIX}-goroutines.txt"));
    let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let dump = parse(&data).unwrap();
    assert_eq!(dump.format, DumpFormat::Debug1);
    assert_eq!(dump.header_total, Some(6364));
    assert_eq!(dump.total(), 6364);
    assert_eq!(dump.skipped_lines, 0);
    assert_consistent(&dump.profile);
}
