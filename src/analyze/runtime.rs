//! What the Go runtime's own functions do, for every Go release from 1.19 to 1.27: the one
//! table that the CPU categories and the syscall attribution read.
//!
//! Names move between releases, so each role lists every spelling a supported release
//! writes:
//!
//! * the frame where a system call of the `syscall` package enters the kernel was
//!   `runtime/internal/syscall.Syscall6` (1.19–1.22), `internal/runtime/syscall.Syscall6`
//!   (1.23–1.25) and is `internal/runtime/syscall/linux.Syscall6` since 1.26;
//! * the GC write barrier was `runtime.gcWriteBarrier` (to 1.20) and is an assembly symbol
//!   without a package, `gcWriteBarrier`, since 1.21;
//! * the scheduler's `findrunnable` became `findRunnable` in 1.19's cycle, and so on.
//!
//! The runtime also makes system calls of its own, through its stubs (`runtime.futex`,
//! `runtime.usleep`, `runtime.osyield`, `runtime.epollwait`, and since 1.26 the network
//! poller's `internal/runtime/syscall/linux.EpollWait`/`EpollCtl` in front of `Syscall6`): those put threads to
//! sleep, wake them and wait for the network poller, so they count as the scheduler, not
//! as the program's syscalls. The runtime's file stubs (`runtime.read`, `runtime.write1`,
//! `runtime.open`, `runtime.closefd`) read and write for the program (profiles, `/proc`),
//! so they count as syscalls.

/// The role of a runtime (or runtime-adjacent) function in a stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Where a system call enters the kernel: the leaf of a syscall's stack.
    SyscallLeaf,
    /// A runtime wrapper whose system calls are the scheduler's (the network poller's
    /// `epoll_wait` since Go 1.26): a syscall leaf under it is scheduler time.
    SchedulerSyscall,
    /// Garbage collection: marking, sweeping, scavenging, assists and write barriers.
    Gc,
    /// Asynchronous preemption: the signal-driven stop of a goroutine that ran past its
    /// time slice.
    Preemption,
    /// The scheduler: finding work, parking and waking goroutines and threads.
    Scheduler,
    /// The memory allocator.
    Allocation,
}

/// How a table entry matches a function name.
#[derive(Debug, Clone, Copy)]
enum Match {
    Exact(&'static str),
    Prefix(&'static str),
}

/// The table: every spelling of every role, Go 1.19 to 1.27.
const ROLES: &[(Match, Role)] = {
    use Match::{Exact, Prefix};
    use Role::*;
    &[
        // Syscall leaves: the syscall package and its runtime entry points.
        (Exact("syscall.Syscall"), SyscallLeaf),
        (Exact("syscall.Syscall6"), SyscallLeaf),
        (Exact("syscall.RawSyscall"), SyscallLeaf),
        (Exact("syscall.RawSyscall6"), SyscallLeaf),
        (Exact("syscall.rawSyscallNoError"), SyscallLeaf),
        (Exact("syscall.RawSyscallNoError"), SyscallLeaf),
        (Exact("syscall.rawVforkSyscall"), SyscallLeaf),
        (Exact("syscall.syscall"), SyscallLeaf),
        (Exact("syscall.syscall6"), SyscallLeaf),
        (Exact("syscall.rawSyscall"), SyscallLeaf),
        (Exact("syscall.rawSyscall6"), SyscallLeaf),
        (Exact("runtime/internal/syscall.Syscall6"), SyscallLeaf),
        (Exact("internal/runtime/syscall.Syscall6"), SyscallLeaf),
        (
            Exact("internal/runtime/syscall/linux.Syscall6"),
            SyscallLeaf,
        ),
        (Exact("internal/syscall/unix.Syscall"), SyscallLeaf),
        (Prefix("golang.org/x/sys/unix.Syscall"), SyscallLeaf),
        (Prefix("golang.org/x/sys/unix.RawSyscall"), SyscallLeaf),
        // The runtime's file stubs, which read and write for the program.
        (Exact("runtime.read"), SyscallLeaf),
        (Exact("runtime.write1"), SyscallLeaf),
        (Exact("runtime.open"), SyscallLeaf),
        (Exact("runtime.closefd"), SyscallLeaf),
        // The runtime's own waits, reached through a syscall leaf since Go 1.26.
        (
            Prefix("internal/runtime/syscall/linux.Epoll"),
            SchedulerSyscall,
        ),
        // Garbage collection.
        (Prefix("runtime.gcBgMarkWorker"), Gc),
        (Prefix("runtime.gcAssistAlloc"), Gc),
        (Prefix("runtime.gcDrain"), Gc),
        (Prefix("runtime.gcMark"), Gc),
        (Prefix("runtime.gcStart"), Gc),
        (Prefix("runtime.gcSweep"), Gc),
        (Prefix("runtime.bgsweep"), Gc),
        (Prefix("runtime.bgscavenge"), Gc),
        (Prefix("runtime.markroot"), Gc),
        (Prefix("runtime.scanobject"), Gc),
        (Prefix("runtime.sweepone"), Gc),
        (Prefix("runtime.(*sweepLocked)"), Gc),
        (Prefix("runtime.(*gcWork)"), Gc),
        (Prefix("runtime.(*gcControllerState)"), Gc),
        (Prefix("runtime.wbBufFlush"), Gc),
        (Prefix("runtime.gcWriteBarrier"), Gc),
        (Prefix("gcWriteBarrier"), Gc),
        (Prefix("runtime.bulkBarrierPreWrite"), Gc),
        // Asynchronous preemption.
        (Exact("runtime.asyncPreempt"), Preemption),
        (Exact("runtime.asyncPreempt2"), Preemption),
        (Exact("runtime.doSigPreempt"), Preemption),
        (Exact("runtime.preemptPark"), Preemption),
        (Exact("runtime.gopreempt_m"), Preemption),
        // The scheduler, and the runtime's own sleeping and waking.
        (Exact("runtime.schedule"), Scheduler),
        (Exact("runtime.findRunnable"), Scheduler),
        (Exact("runtime.findrunnable"), Scheduler),
        (Exact("runtime.park_m"), Scheduler),
        (Exact("runtime.goschedImpl"), Scheduler),
        (Exact("runtime.gosched_m"), Scheduler),
        (Exact("runtime.goexit0"), Scheduler),
        (Exact("runtime.notesleep"), Scheduler),
        (Exact("runtime.notetsleep"), Scheduler),
        (Exact("runtime.notetsleepg"), Scheduler),
        (Exact("runtime.notewakeup"), Scheduler),
        (Exact("runtime.stopm"), Scheduler),
        (Exact("runtime.startm"), Scheduler),
        (Exact("runtime.wakep"), Scheduler),
        (Exact("runtime.ready"), Scheduler),
        (Exact("runtime.goready"), Scheduler),
        (Exact("runtime.netpoll"), Scheduler),
        (Exact("runtime.epollwait"), Scheduler),
        (Exact("runtime.usleep"), Scheduler),
        (Exact("runtime.osyield"), Scheduler),
        (Exact("runtime.runqsteal"), Scheduler),
        (Exact("runtime.stealWork"), Scheduler),
        (Exact("runtime.checkTimers"), Scheduler),
        (Exact("runtime.sysmon"), Scheduler),
        (Exact("runtime.exitsyscall"), Scheduler),
        (Exact("runtime.entersyscall"), Scheduler),
        (Exact("runtime.reentersyscall"), Scheduler),
        (Exact("runtime.entersyscallblock"), Scheduler),
        (Exact("runtime.mPark"), Scheduler),
        (Exact("runtime.handoffp"), Scheduler),
        (Exact("runtime.resetspinning"), Scheduler),
        (Exact("runtime.execute"), Scheduler),
        (Exact("runtime.gopark"), Scheduler),
        (Exact("runtime.selectgo"), Scheduler),
        (Prefix("runtime.futex"), Scheduler),
        // The allocator.
        (Prefix("runtime.mallocgc"), Allocation),
        (Exact("runtime.newobject"), Allocation),
        (Prefix("runtime.(*mcache)."), Allocation),
        (Prefix("runtime.(*mcentral)."), Allocation),
        (Prefix("runtime.(*mheap)."), Allocation),
    ]
};

/// The role of a function, by its name; `None` for everything the table does not name
/// (the program, and the rest of the runtime).
pub fn role(name: &str) -> Option<Role> {
    ROLES.iter().find_map(|(m, role)| {
        let hit = match m {
            Match::Exact(e) => name == *e,
            Match::Prefix(p) => name.starts_with(p),
        };
        hit.then_some(*role)
    })
}

/// The package of a Go function that has none in its name: an assembly symbol local to its
/// file (`memeqbody`, `gcWriteBarrier`, `indexbytebody`, `_rt0_amd64`) belongs to the package
/// of the file it was assembled from (`…/src/internal/bytealg/equal_amd64.s` →
/// `internal/bytealg`); without a usable file it is the runtime's.
pub fn assembly_package(file: &str) -> &str {
    let dir = file.rsplit_once('/').map_or("", |(dir, _)| dir);
    // The part after GOROOT's `src/` (absolute paths), else the path as -trimpath writes it.
    let package = dir.rsplit_once("/src/").map_or(dir, |(_, p)| p);
    if package.is_empty() || package.starts_with('/') || !file.ends_with(".s") {
        "runtime"
    } else {
        package
    }
}

/// True for a Go function name without a package: an assembly symbol local to its file.
pub fn is_assembly_symbol(name: &str) -> bool {
    !name.is_empty() && !name.contains('.') && !name.starts_with('[') && !name.contains('/')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_release_spelling_of_the_syscall_leaf() {
        for name in [
            "runtime/internal/syscall.Syscall6",
            "internal/runtime/syscall.Syscall6",
            "internal/runtime/syscall/linux.Syscall6",
            "syscall.RawSyscall6",
            "golang.org/x/sys/unix.Syscall6",
        ] {
            assert_eq!(role(name), Some(Role::SyscallLeaf), "{name}");
        }
        assert_eq!(
            role("internal/runtime/syscall/linux.EpollWait"),
            Some(Role::SchedulerSyscall)
        );
    }

    #[test]
    fn write_barriers_preemption_and_the_rest() {
        assert_eq!(role("gcWriteBarrier"), Some(Role::Gc));
        assert_eq!(role("runtime.gcWriteBarrier"), Some(Role::Gc));
        assert_eq!(role("runtime.wbBufFlush1"), Some(Role::Gc));
        assert_eq!(role("runtime.asyncPreempt"), Some(Role::Preemption));
        assert_eq!(role("runtime.futex"), Some(Role::Scheduler));
        assert_eq!(role("runtime.mallocgc"), Some(Role::Allocation));
        assert_eq!(role("main.main"), None);
        assert_eq!(role("runtime.memmove"), None);
    }

    #[test]
    fn assembly_symbols_belong_to_their_file_package() {
        assert!(is_assembly_symbol("memeqbody"));
        assert!(is_assembly_symbol("_"));
        assert!(!is_assembly_symbol("runtime.memequal"));
        assert_eq!(
            assembly_package("/usr/lib/go-1.19/src/internal/bytealg/equal_amd64.s"),
            "internal/bytealg"
        );
        assert_eq!(assembly_package("runtime/asm_amd64.s"), "runtime");
        assert_eq!(
            assembly_package("internal/bytealg/compare_amd64.s"),
            "internal/bytealg"
        );
        assert_eq!(assembly_package(""), "runtime");
        assert_eq!(assembly_package("main.go"), "runtime");
    }
}
