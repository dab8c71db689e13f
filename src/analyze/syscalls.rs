//! Which system calls: the syscall package's wrapper for each call (`syscall.read`,
//! `syscall.recvfrom`, x/sys/unix's alike) and the runtime's own stubs (`runtime.futex`,
//! the netpoller's `epoll_wait`), read from the function names. A share of syscall leaves
//! says the process lives in the kernel; the calls say whether it is reading files, making
//! netlink round trips or writing to sockets, which decides the fix.

use serde::{Deserialize, Serialize};

/// The runtime's own system calls, by the stub that makes each (Go 1.19 to 1.27).
const RUNTIME_STUBS: &[(&str, &str)] = &[
    ("runtime.futex", "futex"),
    ("runtime.epollwait", "epoll_wait"),
    ("runtime.netpollinit", "epoll_create"),
    ("internal/runtime/syscall/linux.EpollWait", "epoll_wait"),
    ("internal/runtime/syscall/linux.EpollCtl", "epoll_ctl"),
    ("runtime.usleep", "nanosleep"),
    ("runtime.osyield", "sched_yield"),
    ("runtime.read", "read"),
    ("runtime.write1", "write"),
    ("runtime.open", "open"),
    ("runtime.closefd", "close"),
    ("runtime.madvise", "madvise"),
    ("runtime.sysMmap", "mmap"),
    ("runtime.mmap", "mmap"),
    ("runtime.munmap", "munmap"),
    ("runtime.tgkill", "tgkill"),
    ("runtime.clone", "clone"),
    ("runtime.rtsigprocmask", "rt_sigprocmask"),
    ("runtime.sigaltstack", "sigaltstack"),
    ("runtime.setitimer", "setitimer"),
    ("runtime.timer_settime", "timer_settime"),
];

/// The packages whose plain functions wrap one system call each.
const WRAPPER_PACKAGES: &[&str] = &["syscall.", "golang.org/x/sys/unix."];

/// The system call a function makes, when it is a wrapper for one: the syscall package's
/// (or x/sys/unix's) function named for the call, lowercased (`syscall.Getdents` →
/// `getdents`), or a runtime stub. The generic entry points (`syscall.Syscall6`,
/// `RawSyscall`, the runtime's `Syscall6`) make every call and name none; methods and
/// closures are not wrappers.
pub fn call_of(function: &str) -> Option<String> {
    if let Some((_, call)) = RUNTIME_STUBS.iter().find(|(name, _)| *name == function) {
        return Some((*call).to_string());
    }
    let name = WRAPPER_PACKAGES
        .iter()
        .find_map(|package| function.strip_prefix(package))?;
    let generic = name.starts_with("Syscall")
        || name.starts_with("RawSyscall")
        || name.starts_with("syscall")
        || name.starts_with("rawSyscall")
        || name.starts_with("rawVforkSyscall")
        || name.starts_with("RawSyscallNoError")
        || name.starts_with("runtime_")
        || name.starts_with("Entersyscall")
        || name.starts_with("Exitsyscall");
    if generic
        || name.is_empty()
        || name.contains(['.', '(', '*'])
        || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return None;
    }
    Some(name.to_ascii_lowercase())
}

/// What each function of a profile is to a system call, worked out once per profile.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Part {
    /// A runtime stub making this call (an index into `Calls::names`).
    Stub(u32),
    /// A wrapper naming this call.
    Wrapper(u32),
    /// A generic entry into the kernel (`syscall.Syscall6`, the runtime's `Syscall6`).
    Entry,
    /// A runtime function a call passes through (`entersyscall`, `exitsyscall`).
    Runtime,
    /// Anything else.
    Other,
}

/// The system calls of a profile's functions: which call each wrapper or stub makes.
pub struct Calls {
    parts: Vec<Part>,
    /// The distinct calls, as met.
    pub names: Vec<String>,
}

impl Calls {
    /// Reads every function name of `functions` (a profile's, by index) once.
    pub fn new<'a>(functions: impl Iterator<Item = &'a str>) -> Self {
        let mut names: Vec<String> = Vec::new();
        let mut intern = |call: String| -> u32 {
            match names.iter().position(|n| *n == call) {
                Some(i) => i as u32,
                None => {
                    names.push(call);
                    (names.len() - 1) as u32
                }
            }
        };
        let parts = functions
            .map(|name| {
                if let Some((_, call)) = RUNTIME_STUBS.iter().find(|(stub, _)| *stub == name) {
                    Part::Stub(intern((*call).to_string()))
                } else if super::runtime::role(name) == Some(super::runtime::Role::SyscallLeaf) {
                    Part::Entry
                } else if let Some(call) = call_of(name) {
                    Part::Wrapper(intern(call))
                } else if name.starts_with("runtime.") {
                    Part::Runtime
                } else {
                    Part::Other
                }
            })
            .collect();
        Calls { parts, names }
    }

    /// The call a wrapper or stub makes; `None` for any other function.
    pub fn call(&self, function: u32) -> Option<&str> {
        match self.parts.get(function as usize)? {
            Part::Stub(call) | Part::Wrapper(call) => {
                self.names.get(*call as usize).map(String::as_str)
            }
            _ => None,
        }
    }

    /// The call a sample's stack (function indices, leaf first) makes, and the position of
    /// its wrapper or stub: a runtime stub met from the leaf through runtime frames, or the
    /// first wrapper above the generic entry points the stack enters the kernel through.
    /// `None` when the sample is not in a system call (code of a wrapper's package that
    /// makes none, `syscall.NetlinkRIB` parsing, counts as its caller's).
    pub fn of_stack(&self, stack: &[u32]) -> Option<(u32, usize)> {
        let mut entered = false;
        for (position, &function) in stack.iter().enumerate() {
            match self
                .parts
                .get(function as usize)
                .copied()
                .unwrap_or(Part::Other)
            {
                Part::Stub(call) if !entered => return Some((call, position)),
                Part::Entry => entered = true,
                Part::Wrapper(call) if entered => return Some((call, position)),
                Part::Runtime if !entered => {}
                _ => return None,
            }
        }
        None
    }
}

/// CPU in one system call's wrapper: pprof's cum of that function, with the code calling it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyscallKind {
    /// The call (`read`, `recvfrom`, `futex`).
    pub call: String,
    /// The wrapper or stub making it (`syscall.read`, `runtime.futex`).
    pub function: String,
    /// CPU in samples with the wrapper on the stack (the innermost wrapper of a sample).
    pub cum: i64,
    /// `cum` in the CPU tables' unit (`4.20s`).
    pub cum_text: String,
    /// Share of the profile's CPU, as pprof prints it (`34.40%`).
    pub share_text: String,
    /// The same in cores, when the CPU basis is known.
    pub cores_text: Option<String>,
    /// The code making the calls, most first, at most three: the nearest frame above the
    /// wrapper outside the Go standard library, else the wrapper's direct caller, with its
    /// share of the profile's CPU.
    pub callers: Vec<(String, String)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stack_names_the_call_above_its_kernel_entry() {
        let names = [
            "syscall.Syscall",                   // 0
            "syscall.read",                      // 1
            "os.(*File).Read",                   // 2
            "runtime/internal/syscall.Syscall6", // 3
            "syscall.NetlinkRIB",                // 4
            "runtime.futex",                     // 5
            "runtime.futexsleep",                // 6
            "runtime.exitsyscall",               // 7
            "syscall.recvfrom",                  // 8
            "syscall.ParseNetlinkMessage",       // 9
        ];
        let calls = Calls::new(names.iter().copied());
        let call = |stack: &[u32]| {
            calls
                .of_stack(stack)
                .map(|(c, at)| (calls.names[c as usize].clone(), at))
        };
        assert_eq!(call(&[3, 0, 1, 2]), Some(("read".to_string(), 2)));
        assert_eq!(call(&[7, 0, 1, 2]), Some(("read".to_string(), 2)));
        assert_eq!(call(&[3, 0, 8, 4]), Some(("recvfrom".to_string(), 2)));
        assert_eq!(call(&[5, 6]), Some(("futex".to_string(), 0)));
        // NetlinkRIB parsing its answer makes no call.
        assert_eq!(call(&[9, 4]), None);
        // A wrapper's own code before it enters the kernel is not in the call.
        assert_eq!(call(&[1, 2]), None);
    }

    #[test]
    fn wrappers_name_their_call_and_entry_points_name_none() {
        assert_eq!(call_of("syscall.read").as_deref(), Some("read"));
        assert_eq!(call_of("syscall.Getdents").as_deref(), Some("getdents"));
        assert_eq!(call_of("syscall.accept4").as_deref(), Some("accept4"));
        assert_eq!(
            call_of("golang.org/x/sys/unix.recvfrom").as_deref(),
            Some("recvfrom")
        );
        assert_eq!(call_of("runtime.futex").as_deref(), Some("futex"));
        assert_eq!(
            call_of("internal/runtime/syscall/linux.EpollWait").as_deref(),
            Some("epoll_wait")
        );
        for generic in [
            "syscall.Syscall",
            "syscall.Syscall6",
            "syscall.RawSyscall6",
            "syscall.rawSyscallNoError",
            "syscall.rawVforkSyscall",
            "syscall.runtime_envs",
            "syscall.(*RawConn).Read",
            "syscall.Read.func1",
            "runtime/internal/syscall.Syscall6",
            "os.(*File).Read",
        ] {
            assert_eq!(call_of(generic), None, "{generic}");
        }
    }
}
