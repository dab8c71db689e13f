//! The binary's allocator (mimalloc, set in `main.rs`) and when it hands freed memory back.
//!
//! mimalloc keeps freed memory committed for a while before returning it to the system:
//! memory a phase of a report freed then serves the next phase without fresh pages. On a
//! small set that is time saved; on a set with a large member the phases' peaks add up
//! instead. So the delay is short by default and nothing once a large member is read.

/// `mi_option_purge_delay`, which the bindings do not name: in mimalloc.h (v2 and v3) it is
/// the option just before `mi_option_use_numa_nodes`. -1 is "no purging at all".
pub const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t =
    libmimalloc_sys::mi_option_use_numa_nodes - 1;

/// How long freed memory stays committed before mimalloc returns it. Version 3 waits a
/// second, longer than a whole report, so memory a phase freed (the decoder's buffers, a
/// view's samples) still counted when the next phase peaked. After 10 ms, the large
/// generated set's report peaks at 163–165 MB instead of 194–207 MB and the 400k-stack
/// heap report at 48 MB instead of 53 MB, at the same speed (`MIMALLOC_PURGE_DELAY`,
/// /usr/bin/time, three runs each). Returning it at once costs the 8-member sim-57 report
/// 22.5 → 25.3 ms (`bench/alternate.py 40`), so that waits for a large member.
pub const PURGE_DELAY_MS: std::ffi::c_long = 10;

/// A member that inflates to this much makes memory the scarce resource: the sets of issue
/// 20's targets have one of 20 MB or more, the fixture sets none above 3 MB.
pub const LARGE_MEMBER_BYTES: u64 = 16 << 20;

/// Called when a member of `bytes` (inflated) is about to be read: from a large one on,
/// freed memory goes back to the system at once. The whole generated set of
/// `bench/large.sh` then peaks at 120.7 MB instead of 125.4 MB (medians of five runs of one
/// binary, alternating, /usr/bin/time), in the same time; the 400k-stack heap report at
/// 42.3 MB either way.
pub fn reading_member(bytes: u64) {
    if bytes >= LARGE_MEMBER_BYTES {
        set_purge_delay(0);
    }
}

/// Sets mimalloc's purge delay, in milliseconds (-1: never).
pub fn set_purge_delay(milliseconds: std::ffi::c_long) {
    // SAFETY: mi_option_set stores one integer in mimalloc's table of options, which it reads
    // with atomic loads; any thread may call it at any time. Without mimalloc as the global
    // allocator (the library's tests) it sets an option nothing reads.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, milliseconds) };
}
