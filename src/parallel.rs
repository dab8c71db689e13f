//! Side-by-side work on scoped threads, the one way the crate runs things in parallel: a
//! set's members, compare's and trend's sets, a report's flame graphs.

use std::thread::ScopedJoinHandle;

/// `f` of every item, on one thread per core (this one among them), each taking the next item
/// not yet taken: items start in their order. The results come in the items' order, so that
/// the first error in that order is the same on every run. A thread costs about as much as
/// decoding a small profile (its stack, and an allocator arena), so there are no more than
/// the cores can run.
pub fn map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = cores().min(items.len());
    if threads <= 1 {
        return items.iter().map(&f).collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let work = || {
        let mut done = Vec::new();
        loop {
            let index = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let Some(item) = items.get(index) else {
                return done;
            };
            done.push((index, f(item)));
        }
    };
    let mut results: Vec<(usize, R)> = std::thread::scope(|scope| {
        let others: Vec<_> = (1..threads).map(|_| scope.spawn(work)).collect();
        let mut results = work();
        for other in others {
            results.extend(joined(other));
        }
        results
    });
    results.sort_unstable_by_key(|(index, _)| *index);
    results.into_iter().map(|(_, result)| result).collect()
}

/// The cores this process may use. Asked once: on Linux the answer reads three files (the
/// cgroup's CPU quota), which takes longer than decoding a small profile.
pub fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// The result of a scoped thread. A panic in it is a bug; it carries on as the panic it was.
pub fn joined<T>(handle: ScopedJoinHandle<'_, T>) -> T {
    handle
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

#[cfg(test)]
mod tests {
    #[test]
    fn results_keep_the_items_order() {
        let items: Vec<u64> = (0..9).collect();
        assert_eq!(
            super::map(&items, |i| i * i),
            [0, 1, 4, 9, 16, 25, 36, 49, 64]
        );
        assert_eq!(super::map(&[7u8], |i| *i), [7]);
        assert!(super::map(&[] as &[u8], |i| *i).is_empty());
    }
}
