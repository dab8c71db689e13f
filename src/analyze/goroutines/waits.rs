//! What a goroutine of the goroutine profile is waiting in, read from the runtime frames at
//! its leaf: the frames the text dumps hide, and the only place a profile-only set (or a
//! stall the dump, taken at another instant, missed) shows a GC assist, a lock queue or an
//! I/O wait. The names are the runtime's own wait reasons, as a `debug=2` header prints them.

use super::intern::Names;
use super::stacks::Frame;
use crate::analyze::runtime::{Role, role};

/// What one function says of a goroutine's wait, read once per function (see [`wait_facts`]).
#[derive(Debug, Clone, Copy)]
pub(super) struct WaitFacts {
    /// A GC assist: the stall, whatever else the stack shows.
    assist: bool,
    /// `sync.(*WaitGroup).Wait`, which tells what a bare semaphore wait is.
    group_wait: bool,
    /// What the frame says when the walk from the leaf reaches it.
    step: Step,
}

/// What a frame says when the walk from the leaf reaches it.
#[derive(Debug, Clone, Copy)]
enum Step {
    /// The wait is this one.
    Wait(&'static str),
    /// The runtime's semaphore: the sync frame above it says which lock, if any.
    Semaphore,
    /// `sync.runtime_Semacquire`: a wait group's wait when the stack has one, else a bare
    /// semaphore.
    Semacquire,
    /// Nothing here: look further from the leaf.
    Next,
    /// The program's own code: no wait further from the leaf.
    Stop,
}

impl WaitFacts {
    /// The facts of a name that says nothing.
    pub(super) const NONE: WaitFacts = WaitFacts {
        assist: false,
        group_wait: false,
        step: Step::Next,
    };
}

/// What `name` says of a wait; `standard` tells whether its package is the standard library's.
pub(super) fn wait_facts(name: &str, standard: bool) -> WaitFacts {
    let step = match name {
        "runtime.netpollblock" | "internal/poll.runtime_pollWait" => Step::Wait("IO wait"),
        "runtime.chanrecv" | "runtime.chanrecv1" | "runtime.chanrecv2" => {
            Step::Wait("chan receive")
        }
        "runtime.chansend" | "runtime.chansend1" => Step::Wait("chan send"),
        "runtime.selectgo" => Step::Wait("select"),
        "runtime.block" => Step::Wait("select (no cases)"),
        "sync.runtime_SemacquireMutex" | "internal/sync.runtime_SemacquireMutex" => {
            Step::Wait("sync.Mutex.Lock")
        }
        "sync.runtime_SemacquireRWMutexR" => Step::Wait("sync.RWMutex.RLock"),
        "sync.runtime_SemacquireRWMutex" => Step::Wait("sync.RWMutex.Lock"),
        "sync.runtime_SemacquireWaitGroup" => Step::Wait("sync.WaitGroup.Wait"),
        "sync.runtime_notifyListWait" => Step::Wait("sync.Cond.Wait"),
        "runtime.semacquire" | "runtime.semacquire1" => Step::Semaphore,
        "sync.runtime_Semacquire" => Step::Semacquire,
        "runtime.timeSleep" | "time.Sleep" => Step::Wait("sleep"),
        // The signal and timer waits block their thread in a system call.
        "runtime.notetsleepg" => Step::Wait("syscall"),
        "runtime.gopark" | "runtime.goparkunlock" => Step::Next,
        // The role table is a scan: asked only of the packages its syscall leaves are in.
        name if may_enter_the_kernel(name) && role(name) == Some(Role::SyscallLeaf) => {
            Step::Wait("syscall")
        }
        // The waits are read from the standard library's frames at the leaf: past the
        // first frame of the program's own code there is none to find, and a deep stack
        // of long names is not walked to its root for nothing.
        _ if !standard => Step::Stop,
        _ => Step::Next,
    };
    WaitFacts {
        assist: name.starts_with("runtime.gcAssistAlloc") || name == "runtime.gcParkAssist",
        group_wait: name == "sync.(*WaitGroup).Wait",
        step,
    }
}

/// The wait of a stack, from its frames (leaf first): `GC assist wait`, `sync.Mutex.Lock`,
/// `IO wait`, `chan receive`, …, `running` when nothing parks it.
pub(super) fn wait_of(frames: &[Frame], names: &Names) -> &'static str {
    let wait = |frame: &Frame| &names.facts(frame.name).wait;
    // A goroutine that assists the GC may park in the allocator's depths: the assist is the
    // stall, whatever the frames below it.
    if frames.iter().any(|f| wait(f).assist) {
        return "GC assist wait";
    }
    let waits_for_group = frames.iter().any(|f| wait(f).group_wait);
    let mut semaphore = false;
    for frame in frames {
        match wait(frame).step {
            Step::Wait(wait) => return wait,
            Step::Semaphore => semaphore = true,
            Step::Semacquire if waits_for_group => return "sync.WaitGroup.Wait",
            Step::Semacquire => return "semacquire",
            Step::Next => {}
            Step::Stop => break,
        }
    }
    if semaphore {
        return "semacquire";
    }
    match frames.first() {
        Some(leaf) if names.facts(leaf.name).park => "waiting",
        _ => "running",
    }
}

fn may_enter_the_kernel(name: &str) -> bool {
    ["syscall.", "runtime", "internal/", "golang.org/x/sys/unix."]
        .iter()
        .any(|p| name.starts_with(p))
}
