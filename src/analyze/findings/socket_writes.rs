//! `cpu_unbuffered_socket_writes`: CPU in writes to stream sockets that no buffer batches, so
//! that each write the application makes is a system call of its own.
//!
//! A socket write is a sample under `net.(*netFD).Write` (or `net.(*conn).Write`, which every
//! `net.Conn` of a TCP or Unix stream socket reaches in every Go release since 1.19), its cost
//! the frame's cum: the system call and the runtime's entry and exit around it. It is buffered
//! when a frame above it batches: `bufio.(*Writer)` (its Flush, or its Write passing a full
//! buffer on), any function named `Flush` or `flush` (a writer flushing what it gathered:
//! net/http's chunk and response writers, HTTP/2's and gRPC's framers), net.Buffers and
//! writev (`(*netFD).writeBuffers`, `internal/poll.(*FD).Writev`), or io.Copy and its
//! variants (32 KiB chunks, large writes already). crypto/tls is not a buffer: it writes one
//! record per Write it is given, a system call each, so a small write through TLS stays small.

use super::*;

const SOCKET_WRITE: u8 = 1;
const BUFFERING: u8 = 2;

fn flags_of(name: &str) -> u8 {
    let mut flags = 0;
    if matches!(name, "net.(*netFD).Write" | "net.(*conn).Write") {
        flags |= SOCKET_WRITE;
    }
    let last = name.rsplit('.').next().unwrap_or(name);
    if name.starts_with("bufio.(*Writer).")
        || matches!(last, "Flush" | "flush")
        || name.starts_with("net.Buffers.")
        || name.starts_with("net.(*Buffers).")
        || matches!(
            name,
            "net.(*netFD).writeBuffers"
                | "internal/poll.(*FD).Writev"
                | "io.Copy"
                | "io.CopyN"
                | "io.CopyBuffer"
                | "io.copyBuffer"
        )
    {
        flags |= BUFFERING;
    }
    flags
}

/// The share of CPU in unbuffered socket writes; the subject gives it against all socket
/// writes, `{top}` is the socket write entered and `{caller}` the code that writes.
pub(super) fn unbuffered_socket_writes(profile: &Profile) -> Option<Measurement> {
    let index = profile.sample_index_of("cpu")?;
    let flags: Vec<u8> = profile
        .functions
        .iter()
        .map(|f| flags_of(&f.name))
        .collect();
    // Most profiles have no socket write at all: one look at the functions says so.
    let writes_somewhere = flags.iter().any(|f| f & SOCKET_WRITE != 0);
    let stacks = writes_somewhere.then(|| FunctionStacks::new(profile));
    let mut functions: Vec<u32> = Vec::new();
    let (mut unbuffered, mut all, mut total) = (0i64, 0i64, 0i64);
    let mut mask = Vec::with_capacity(profile.samples.len());
    for sample in profile.samples() {
        let value = sample.value(index);
        total += value;
        let mut hit = false;
        if let Some(stacks) = &stacks {
            stacks.sample_named(sample, &mut functions);
            if let Some(write) = functions
                .iter()
                .position(|&f| flags[f as usize] & SOCKET_WRITE != 0)
            {
                all += value;
                hit = !functions[write + 1..]
                    .iter()
                    .any(|&f| flags[f as usize] & BUFFERING != 0);
                if hit {
                    unbuffered += value;
                }
            }
        }
        mask.push(hit);
    }
    let share = |part: i64| {
        if total == 0 {
            0.0
        } else {
            part as f64 / total as f64 * 100.0
        }
    };
    let value = share(unbuffered);
    let matches: Vec<bool> = flags.iter().map(|f| f & SOCKET_WRITE != 0).collect();
    let attribution = (unbuffered > 0)
        .then(|| super::measure::attribute(profile, "cpu", &mask, &matches))
        .flatten();
    Some(Measurement {
        attribution,
        ..super::measure::share_measurement(
            "CPU in socket writes with no buffer above them".to_string(),
            format!(
                "{} of CPU in socket writes in all, {} with no bufio.Writer, flush, writev or io.Copy above them",
                super::measure::percent_text(share(all)),
                super::measure::percent_text(value)
            ),
            value,
            Some(Mask::Cpu(mask)),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffering_frames_are_named_by_shape() {
        assert_eq!(flags_of("net.(*netFD).Write"), SOCKET_WRITE);
        assert_eq!(flags_of("bufio.(*Writer).Flush"), BUFFERING);
        assert_eq!(
            flags_of("google.golang.org/grpc/internal/transport.(*bufWriter).Flush"),
            BUFFERING
        );
        assert_eq!(flags_of("net/http.(*chunkWriter).flush"), BUFFERING);
        assert_eq!(flags_of("crypto/tls.(*Conn).Write"), 0);
        assert_eq!(flags_of("example.com/app.(*Session).Flushed"), 0);
    }
}
