//! Side-by-side work on scoped threads, the one way the crate runs things in parallel: a
//! set's members, compare's and trend's sets, a report's flame graphs. There are few items
//! (a set has about eight members), so each gets a thread of its own.

use std::thread::ScopedJoinHandle;

/// `f` of every item, each on its own thread; the results in the items' order, so that the
/// first error in that order is the same on every run. One item runs on this thread.
pub fn map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    if items.len() <= 1 {
        return items.iter().map(&f).collect();
    }
    std::thread::scope(|scope| {
        let f = &f;
        let handles: Vec<_> = items
            .iter()
            .map(|item| scope.spawn(move || f(item)))
            .collect();
        handles.into_iter().map(joined).collect()
    })
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
