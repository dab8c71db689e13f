//! Side-by-side work on scoped threads, the one way the crate runs things in parallel: a
//! set's members, compare's and trend's sets, a report's flame graphs, and reading a large
//! profile ahead of its decoding.

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

/// Runs `consume` on a reader of `source`'s bytes, which a second thread reads a chunk or
/// two ahead: reading (inflating, say) and consuming go on side by side. `consume` reads the
/// same bytes, in the same order, as it would from `source` itself, and meets a read error
/// where `source` returned it. Should `consume` stop early, the second thread stops too.
pub fn read_ahead<R: std::io::Read + Send, T>(
    source: R,
    consume: impl FnOnce(&mut dyn std::io::Read) -> T,
) -> T {
    // Two chunks in flight: one read, one queued, while a third is consumed.
    let (to_consumer, filled) = std::sync::mpsc::sync_channel::<std::io::Result<Vec<u8>>>(1);
    let (to_reader, emptied) = std::sync::mpsc::channel::<Vec<u8>>();
    std::thread::scope(|scope| {
        scope.spawn(move || read_chunks(source, &to_consumer, &emptied));
        let mut ahead = ReadAhead {
            filled,
            to_reader,
            chunk: Vec::new(),
            at: 0,
            ended: false,
        };
        let result = consume(&mut ahead);
        // Ends the reader's sends before the scope waits for it.
        drop(ahead);
        result
    })
}

/// The size of the chunks [`read_ahead`] hands over.
const READ_AHEAD_CHUNK: usize = 1 << 18;

/// The reading side of [`read_ahead`]: fills chunks (reusing those the consumer is done
/// with) and sends them, then the error or end that stopped it.
fn read_chunks(
    mut source: impl std::io::Read,
    to_consumer: &std::sync::mpsc::SyncSender<std::io::Result<Vec<u8>>>,
    emptied: &std::sync::mpsc::Receiver<Vec<u8>>,
) {
    loop {
        let mut chunk = emptied.try_recv().unwrap_or_default();
        // Zeroes only what was never filled: a reused chunk was filled whole.
        chunk.resize(READ_AHEAD_CHUNK, 0);
        let mut len = 0;
        let mut error = None;
        while len < chunk.len() {
            match source.read(&mut chunk[len..]) {
                Ok(0) => break,
                Ok(n) => len += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    error = Some(e);
                    break;
                }
            }
        }
        chunk.truncate(len);
        // What was read before an error comes first, as a direct read would give it.
        if len > 0 && to_consumer.send(Ok(chunk)).is_err() {
            return;
        }
        match error {
            Some(e) => {
                let _ = to_consumer.send(Err(e));
                return;
            }
            // The end: dropping the sender tells the consumer.
            None if len < READ_AHEAD_CHUNK => return,
            None => {}
        }
    }
}

/// The consuming side of [`read_ahead`].
struct ReadAhead {
    filled: std::sync::mpsc::Receiver<std::io::Result<Vec<u8>>>,
    to_reader: std::sync::mpsc::Sender<Vec<u8>>,
    chunk: Vec<u8>,
    /// How much of `chunk` was consumed.
    at: usize,
    /// The source ended or failed: nothing more comes.
    ended: bool,
}

impl std::io::Read for ReadAhead {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.at == self.chunk.len() {
            if self.ended {
                return Ok(0);
            }
            match self.filled.recv() {
                Ok(Ok(next)) => {
                    let done = std::mem::replace(&mut self.chunk, next);
                    self.at = 0;
                    if done.capacity() > 0 {
                        // The reader may have ended: then the chunk just goes.
                        let _ = self.to_reader.send(done);
                    }
                }
                Ok(Err(e)) => {
                    self.ended = true;
                    return Err(e);
                }
                Err(_) => self.ended = true,
            }
        }
        let n = buf.len().min(self.chunk.len() - self.at);
        buf[..n].copy_from_slice(&self.chunk[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
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

    /// A source that gives at most `step` bytes a read, then fails after `fail_after` bytes.
    struct Uneven {
        bytes: Vec<u8>,
        at: usize,
        step: usize,
        fail_after: Option<usize>,
    }

    impl std::io::Read for Uneven {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let end = self.fail_after.unwrap_or(self.bytes.len());
            if self.at == end && self.fail_after.is_some() {
                return Err(std::io::Error::other("broken pipe at the end"));
            }
            let n = buf.len().min(self.step).min(end - self.at);
            buf[..n].copy_from_slice(&self.bytes[self.at..self.at + n]);
            self.at += n;
            Ok(n)
        }
    }

    fn uneven(len: usize, fail_after: Option<usize>) -> Uneven {
        Uneven {
            bytes: (0..len).map(|i| (i * 7 % 251) as u8).collect(),
            at: 0,
            step: 1000,
            fail_after,
        }
    }

    #[test]
    fn read_ahead_gives_the_bytes_of_the_source_in_order() {
        let chunk = super::READ_AHEAD_CHUNK;
        for len in [0, 1, chunk - 1, chunk, chunk + 1, 3 * chunk + 5] {
            let source = uneven(len, None);
            let expected = source.bytes.clone();
            let read = super::read_ahead(source, |ahead| {
                let mut out = Vec::new();
                ahead.read_to_end(&mut out).map(|_| out)
            });
            assert_eq!(read.unwrap(), expected, "{len} bytes");
        }
    }

    #[test]
    fn read_ahead_fails_where_the_source_fails() {
        let chunk = super::READ_AHEAD_CHUNK;
        for fail_after in [0, 10, chunk, 2 * chunk + 3] {
            let source = uneven(3 * chunk, Some(fail_after));
            let expected = source.bytes[..fail_after].to_vec();
            let (read, error) = super::read_ahead(source, |ahead| {
                let mut out = Vec::new();
                let error = ahead.read_to_end(&mut out).unwrap_err();
                (out, error)
            });
            assert_eq!(read, expected, "failing after {fail_after} bytes");
            assert_eq!(error.to_string(), "broken pipe at the end");
        }
    }

    #[test]
    fn read_ahead_stops_reading_when_the_consumer_stops() {
        // An endless source: read_ahead returns only if its reader stops once the
        // consumer has.
        let first = super::read_ahead(std::io::repeat(7), |ahead| {
            let mut first = [0u8; 10];
            ahead.read_exact(&mut first).map(|()| first)
        });
        assert_eq!(first.unwrap(), [7; 10]);
    }
}
