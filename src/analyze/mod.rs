//! Pure analyses over decoded profiles: no I/O, no threads, no output paths. Where work
//! splits into independent passes, an analysis takes a [`Join`] and the job decides whether
//! the passes run side by side.

pub mod compare;
pub mod contention;
pub mod cpu;
pub mod findings;
pub mod flame;
pub mod frames;
pub mod goroutines;
pub mod hotpaths;
pub mod investigation;
pub mod labels;
pub mod language;
pub mod leaks;
pub mod memory;
pub mod memstats;
pub mod names;
pub mod other;
pub mod pgo;
pub mod rss;
pub mod runtime;
pub mod shares;
pub mod summary;
pub mod syscalls;
pub mod top;
pub mod trend;

/// Runs two independent passes of an analysis and returns both results. The analyses only
/// say which passes are independent; `jobs` runs them on threads, [`Sequential`] one after
/// the other.
pub trait Join: Sync {
    /// `a()` and `b()`, in any order or at once.
    fn join<A: Send, B: Send>(
        &self,
        a: impl FnOnce() -> A + Send,
        b: impl FnOnce() -> B + Send,
    ) -> (A, B);
}

/// Passes one after the other, on the calling thread.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sequential;

impl Join for Sequential {
    fn join<A: Send, B: Send>(
        &self,
        a: impl FnOnce() -> A + Send,
        b: impl FnOnce() -> B + Send,
    ) -> (A, B) {
        (a(), b())
    }
}
