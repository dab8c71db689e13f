//! The binary's allocator (mimalloc, set in `main.rs`) and when it hands freed memory back.
//!
//! mimalloc keeps freed memory committed for a while before returning it to the system:
//! memory a phase of a report freed then serves the next phase without fresh pages. On a
//! small set that is time saved; on a set with a large member the phases' peaks add up
//! instead. So a report returns nothing until a large member is read, and everything at
//! once from then on.

/// `mi_option_purge_delay`, which the bindings do not name: in mimalloc.h (v2 and v3) it is
/// the option just before `mi_option_use_numa_nodes`. -1 is "no purging at all".
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t =
    libmimalloc_sys::mi_option_use_numa_nodes - 1;

/// The purge delay until a large member is read: never. Each purge is an `madvise` whose
/// TLB shootdown interrupts the other core, which a virtual machine pays dearly for: with
/// a 10 ms delay, the production tsnsrv set's report made 253 `madvise` calls (strace) and
/// spent 15% of its CPU time in `smp_call_function_many_cond` (perf, 40 runs); without
/// purging, 11 calls (thread stacks) and 1.8%, for 14% fewer CPU samples in all and a peak
/// RSS of 22.8 MB instead of 20.1 MB.
const SMALL_SET_PURGE_DELAY_MS: std::ffi::c_long = -1;

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
        LARGE_MEMBER_READ.store(true, std::sync::atomic::Ordering::Relaxed);
        set_purge_delay(0);
    }
}

/// Set once a large member was read: see [`large_member_read`].
static LARGE_MEMBER_READ: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether this process has read a member of [`LARGE_MEMBER_BYTES`] or more: memory is then
/// the scarce resource, and a report runs one after the other the analyses whose largest
/// moments would add up side by side (`InvestigationOptions::memory_scarce`).
pub fn large_member_read() -> bool {
    LARGE_MEMBER_READ.load(std::sync::atomic::Ordering::Relaxed)
}

/// `mi_option_arena_eager_commit`, which the bindings do not name: in v3's mimalloc.h it is
/// two before `mi_option_allow_large_os_pages` (named `mi_option_large_os_pages` here).
const MI_OPTION_ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t =
    libmimalloc_sys::mi_option_large_os_pages - 2;

/// `mi_option_allow_thp`, which the bindings do not name: in v3's mimalloc.h it is the fourth
/// before `_mi_option_last`.
const MI_OPTION_ALLOW_THP: libmimalloc_sys::mi_option_t = libmimalloc_sys::_mi_option_last - 4;

/// The binary's options, set before its first allocation initialises mimalloc (`main.rs`
/// calls this from a constructor): no transparent huge pages, arenas committed eagerly, no
/// purging until a large member is read.
///
/// mimalloc commits its arenas eagerly where the system overcommits, and asks for
/// transparent huge pages: every touched region then became a zeroed 2 MiB page (the
/// 8-member sim-57 report peaked at 58 MB instead of 21 MB). Without huge pages for the
/// process, eager commit costs no memory (a page is still only taken when first touched)
/// and saves the `mprotect` that committing on demand makes per 64 KiB, each taking the
/// address space's lock the other threads' page faults wait on: 140 → 28 calls on the
/// production tsnsrv set's report (strace), which took 36.8 ms instead of 39.6 (medians of
/// 61 alternating runs, `bench/alternate.py`; 29.6 instead of 31.1 on the sim-57 set), at
/// the same peak RSS.
pub fn configure_before_first_allocation() {
    // SAFETY: mi_option_set stores one integer in mimalloc's table of options, read with
    // atomic loads.
    unsafe {
        libmimalloc_sys::mi_option_set(MI_OPTION_ALLOW_THP, 0);
        libmimalloc_sys::mi_option_set(MI_OPTION_ARENA_EAGER_COMMIT, 1);
    }
    set_purge_delay(SMALL_SET_PURGE_DELAY_MS);
}

/// Sets mimalloc's purge delay, in milliseconds (-1: never).
pub fn set_purge_delay(milliseconds: std::ffi::c_long) {
    // SAFETY: mi_option_set stores one integer in mimalloc's table of options, which it reads
    // with atomic loads; any thread may call it at any time. Without mimalloc as the global
    // allocator (the library's tests) it sets an option nothing reads.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, milliseconds) };
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The options the bindings do not name are found by their place in mimalloc's list: a
    /// newer mimalloc that moved them would set other options silently. Their defaults and
    /// their neighbours' tell them apart (nothing in the tests sets these three).
    #[test]
    fn unnamed_options_are_where_mimalloc_has_them() {
        let default = |option| unsafe { libmimalloc_sys::mi_option_get(option) };
        // allow_thp (1) between page_cross_thread_max_reclaim (32) and minimal_purge_size (0).
        assert_eq!(
            [
                default(MI_OPTION_ALLOW_THP - 1),
                default(MI_OPTION_ALLOW_THP),
                default(MI_OPTION_ALLOW_THP + 1)
            ],
            [32, 1, 0]
        );
        // arena_eager_commit (2, commit where the system overcommits) after the deprecated
        // eager_commit (1), before purge_decommits (1).
        assert_eq!(
            [
                default(MI_OPTION_ARENA_EAGER_COMMIT - 1),
                default(MI_OPTION_ARENA_EAGER_COMMIT),
                default(MI_OPTION_ARENA_EAGER_COMMIT + 1)
            ],
            [1, 2, 1]
        );
    }
}
