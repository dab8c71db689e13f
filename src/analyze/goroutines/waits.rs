//! What a goroutine of the goroutine profile is waiting in, read from the runtime frames at
//! its leaf: the frames the text dumps hide, and the only place a profile-only set (or a
//! stall the dump, taken at another instant, missed) shows a GC assist, a lock queue or an
//! I/O wait. The names are the runtime's own wait reasons, as a `debug=2` header prints them.

use super::stacks::Frame;
use crate::analyze::names::{is_standard_package, package_of};
use crate::analyze::runtime::{Role, role};

/// The wait of a stack, from its frames (leaf first): `GC assist wait`, `sync.Mutex.Lock`,
/// `IO wait`, `chan receive`, …, `running` when nothing parks it.
pub(super) fn wait_of(frames: &[Frame]) -> &'static str {
    // A goroutine that assists the GC may park in the allocator's depths: the assist is the
    // stall, whatever the frames below it.
    if frames.iter().any(|f| {
        f.function.starts_with("runtime.gcAssistAlloc") || f.function == "runtime.gcParkAssist"
    }) {
        return "GC assist wait";
    }
    let waits_for_group = frames
        .iter()
        .any(|f| f.function == "sync.(*WaitGroup).Wait");
    let mut semaphore = false;
    for frame in frames {
        let wait = match &*frame.function {
            "runtime.netpollblock" | "internal/poll.runtime_pollWait" => "IO wait",
            "runtime.chanrecv" | "runtime.chanrecv1" | "runtime.chanrecv2" => "chan receive",
            "runtime.chansend" | "runtime.chansend1" => "chan send",
            "runtime.selectgo" => "select",
            "runtime.block" => "select (no cases)",
            "sync.runtime_SemacquireMutex" | "internal/sync.runtime_SemacquireMutex" => {
                "sync.Mutex.Lock"
            }
            "sync.runtime_SemacquireRWMutexR" => "sync.RWMutex.RLock",
            "sync.runtime_SemacquireRWMutex" => "sync.RWMutex.Lock",
            "sync.runtime_SemacquireWaitGroup" => "sync.WaitGroup.Wait",
            "sync.runtime_notifyListWait" => "sync.Cond.Wait",
            // The runtime's semaphore serves every lock: the sync frame above it says which.
            "runtime.semacquire" | "runtime.semacquire1" => {
                semaphore = true;
                continue;
            }
            "sync.runtime_Semacquire" => {
                if waits_for_group {
                    "sync.WaitGroup.Wait"
                } else {
                    "semacquire"
                }
            }
            "runtime.timeSleep" | "time.Sleep" => "sleep",
            // The signal and timer waits block their thread in a system call.
            "runtime.notetsleepg" => "syscall",
            "runtime.gopark" | "runtime.goparkunlock" => continue,
            // The role table is a scan: asked only of the packages its syscall leaves are in.
            name if may_enter_the_kernel(name) && role(name) == Some(Role::SyscallLeaf) => {
                "syscall"
            }
            // The waits are read from the standard library's frames at the leaf: past the
            // first frame of the program's own code there is none to find, and a deep stack
            // of long names is not walked to its root for nothing.
            name if !is_standard_package(package_of(name)) => break,
            _ => continue,
        };
        return wait;
    }
    if semaphore {
        return "semacquire";
    }
    match frames.first() {
        Some(leaf)
            if leaf.function == "runtime.gopark" || leaf.function == "runtime.goparkunlock" =>
        {
            "waiting"
        }
        _ => "running",
    }
}

fn may_enter_the_kernel(name: &str) -> bool {
    ["syscall.", "runtime", "internal/", "golang.org/x/sys/unix."]
        .iter()
        .any(|p| name.starts_with(p))
}
