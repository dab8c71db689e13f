//! Connections: the one recogniser of goroutines that exist once per network connection or
//! stream (the instance inference leaves them out, the leak check measures work in flight by
//! them), and the summary the report prints: server connections, upstream connections, idle
//! keep-alive.
//!
//! A group is recognised by the standard library's (and the shared HTTP/2 and gRPC
//! libraries') connection loops on its stack, the outermost one deciding: the server's
//! `net/http.(*conn).serve`, the client's `(*persistConn).readLoop`/`writeLoop` pair, HTTP/2
//! server and client connections, gRPC transports; failing those, a goroutine reading or
//! writing a stream socket through `net.(*conn)` is a connection of its own (a per-client
//! read/write loop).

use serde::{Deserialize, Serialize};

use super::grouping::{Group, Grouping};
use super::intern::{Facts, Names};
use super::{percent_text, plural};

/// What a connection-shaped goroutine is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionRole {
    /// An HTTP/1 server connection: `net/http.(*conn).serve`.
    Http1Server,
    /// The background read of a server connection while a handler runs.
    Http1ServerRead,
    /// An HTTP/2 server connection.
    Http2Server,
    /// The read loop of a client's persistent HTTP/1 connection (one per connection).
    Http1ClientRead,
    /// The write loop of a client's persistent HTTP/1 connection (one per connection).
    Http1ClientWrite,
    /// The read loop of a client's HTTP/2 connection.
    Http2Client,
    /// A gRPC server transport or stream.
    GrpcServer,
    /// A gRPC client transport.
    GrpcClient,
    /// A goroutine reading or writing a stream socket, outside the loops above.
    Raw,
}

/// The connection loops, by function; a closure of one (`….func1`) counts as the function.
const LOOPS: &[(&str, ConnectionRole)] = {
    use ConnectionRole::*;
    &[
        ("net/http.(*conn).serve", Http1Server),
        ("net/http.(*connReader).backgroundRead", Http1ServerRead),
        ("net/http.(*http2serverConn).serve", Http2Server),
        ("golang.org/x/net/http2.(*serverConn).serve", Http2Server),
        ("net/http.(*persistConn).readLoop", Http1ClientRead),
        ("net/http.(*persistConn).writeLoop", Http1ClientWrite),
        ("net/http.(*http2ClientConn).readLoop", Http2Client),
        ("golang.org/x/net/http2.(*ClientConn).readLoop", Http2Client),
        (
            "google.golang.org/grpc/internal/transport.(*http2Server).HandleStreams",
            GrpcServer,
        ),
        ("google.golang.org/grpc.(*Server).handleStream", GrpcServer),
        ("google.golang.org/grpc.(*Server).serveStreams", GrpcServer),
        (
            "google.golang.org/grpc/internal/transport.(*http2Client).reader",
            GrpcClient,
        ),
        (
            "google.golang.org/grpc/internal/transport.(*controlBuffer).get",
            GrpcClient,
        ),
        (
            "google.golang.org/grpc.(*addrConn).resetTransport",
            GrpcClient,
        ),
    ]
};

/// Reads and writes of a stream socket (`net.TCPConn`, `net.UnixConn` share `net.(*conn)`).
const STREAM_IO: &[&str] = &["net.(*conn).Read", "net.(*conn).Write"];

fn is_function(frame: &str, function: &str) -> bool {
    frame == function
        || frame
            .strip_prefix(function)
            .is_some_and(|rest| rest.starts_with(".func"))
}

/// The role of a connection loop function, when `function` is one.
pub(super) fn loop_role(function: &str) -> Option<ConnectionRole> {
    LOOPS
        .iter()
        .find(|(f, _)| is_function(function, f))
        .map(|&(_, role)| role)
}

/// True for a group whose goroutines exist once per connection or stream.
pub(super) fn is_per_connection(group: &Group) -> bool {
    group.role.is_some()
}

/// What the connection reading asks of one function, read once per function (see `intern`).
#[derive(Debug, Clone, Copy)]
pub(super) struct ConnectionFacts {
    /// The connection loop it is, if any.
    loop_role: Option<ConnectionRole>,
    /// A read or write of a stream socket.
    stream_io: bool,
    /// A client request waiting for its response (`(*persistConn).roundTrip`).
    round_trip: bool,
    /// A server handler running (`serverHandler.ServeHTTP`).
    serves_handler: bool,
    /// A client read loop blocked reading (`bufio.(*Reader).Peek`).
    reader_peek: bool,
}

impl ConnectionFacts {
    /// The facts of a name that is no connection's.
    pub(super) const NONE: ConnectionFacts = ConnectionFacts {
        loop_role: None,
        stream_io: false,
        round_trip: false,
        serves_handler: false,
        reader_peek: false,
    };
}

/// What `function` says of connections.
pub(super) fn connection_facts(function: &str) -> ConnectionFacts {
    ConnectionFacts {
        loop_role: loop_role(function),
        stream_io: STREAM_IO.contains(&function),
        round_trip: is_function(function, "net/http.(*persistConn).roundTrip"),
        serves_handler: function.ends_with("serverHandler.ServeHTTP"),
        reader_peek: function == "bufio.(*Reader).Peek",
    }
}

/// The connection role of a stack (interned function names, leaf first): the outermost
/// connection loop on it, else `Raw` for a read or write of a stream socket.
pub(super) fn role_of(frames: &[u32], names: &Names) -> Option<ConnectionRole> {
    frames
        .iter()
        .rev()
        .find_map(|&f| names.facts(f).connection.loop_role)
        .or_else(|| {
            frames
                .iter()
                .any(|&f| names.facts(f).connection.stream_io)
                .then_some(ConnectionRole::Raw)
        })
}

/// The connections the goroutines show.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Connections {
    /// One row per kind present: server, upstream, other.
    pub rows: Vec<ConnectionRow>,
    /// Goroutines in connection-shaped groups.
    pub goroutines: u64,
    /// `goroutines` as a share of all goroutines, formatted: `7.12%`.
    pub share_text: String,
    /// Goroutines of other groups waiting for a response on a client connection
    /// (`net/http.(*persistConn).roundTrip`): requests in flight upstream.
    pub upstream_requests: u64,
    /// `445 goroutines (7.12%) serve connections`.
    pub summary_text: String,
}

/// One kind of connection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectionRow {
    /// `server` or `upstream` or `other`.
    pub side: String,
    /// `HTTP/1 server connections`, `HTTP/1 upstream connections (keep-alive pool)`.
    pub kind: String,
    /// Connections, where the goroutines say (one loop goroutine per connection).
    pub connections: Option<u64>,
    /// Of them, idle: a server connection waiting for its next request outside any
    /// handler, a client connection waiting to read with no request in flight.
    pub idle: Option<u64>,
    /// Goroutines these connections account for.
    pub goroutines: u64,
    /// Groups counted.
    pub groups: usize,
}

/// Counts of one role, split by whether the loop is at rest.
#[derive(Default)]
struct Tally {
    goroutines: u64,
    at_rest: u64,
    groups: usize,
}

/// The connections summary; `None` when no group is connection-shaped.
pub(super) fn connections(grouping: &Grouping) -> Option<Connections> {
    use ConnectionRole::*;
    let total = grouping.total;
    let mut tallies: std::collections::BTreeMap<ConnectionRole, Tally> = Default::default();
    let mut upstream_requests = 0;
    for group in &grouping.groups {
        let facts = grouping.facts_of(group);
        if facts.clone().any(|f| f.connection.round_trip) {
            upstream_requests += group.goroutines;
        }
        let Some(role) = group.role else { continue };
        let tally = tallies.entry(role).or_default();
        tally.goroutines += group.goroutines;
        tally.groups += 1;
        if at_rest(role, facts) {
            tally.at_rest += group.goroutines;
        }
    }
    if tallies.is_empty() {
        return None;
    }
    let get = |role| tallies.get(&role);
    let mut rows = Vec::new();
    let mut row = |side: &str, kind: &str, connections, idle, parts: &[Option<&Tally>]| {
        let goroutines: u64 = parts.iter().flatten().map(|t| t.goroutines).sum();
        if goroutines > 0 {
            rows.push(ConnectionRow {
                side: side.to_string(),
                kind: kind.to_string(),
                connections,
                idle,
                goroutines,
                groups: parts.iter().flatten().map(|t| t.groups).sum(),
            });
        }
    };
    let server = get(Http1Server);
    row(
        "server",
        "HTTP/1 server connections",
        server.map(|t| t.goroutines),
        server.map(|t| t.at_rest),
        &[server, get(Http1ServerRead)],
    );
    let h2 = get(Http2Server);
    row(
        "server",
        "HTTP/2 server connections",
        h2.map(|t| t.goroutines),
        None,
        &[h2],
    );
    row(
        "server",
        "gRPC server transports",
        None,
        None,
        &[get(GrpcServer)],
    );
    // Every client connection has one read loop; one at rest waits to read, and is idle
    // unless a request is waiting for its response.
    let client = get(Http1ClientRead);
    row(
        "upstream",
        "HTTP/1 upstream connections",
        client.map(|t| t.goroutines),
        client.map(|t| t.at_rest.saturating_sub(upstream_requests)),
        &[client, get(Http1ClientWrite)],
    );
    let h2c = get(Http2Client);
    row(
        "upstream",
        "HTTP/2 upstream connections",
        h2c.map(|t| t.goroutines),
        None,
        &[h2c],
    );
    row(
        "upstream",
        "gRPC client transports",
        None,
        None,
        &[get(GrpcClient)],
    );
    row(
        "other",
        "stream sockets read or written outside HTTP and gRPC",
        None,
        None,
        &[get(Raw)],
    );
    let goroutines: u64 = tallies.values().map(|t| t.goroutines).sum();
    let share_text = percent_text(goroutines, total);
    Some(Connections {
        summary_text: format!(
            "{goroutines} {} ({share_text}) serve connections",
            plural(goroutines, "goroutine", "goroutines")
        ),
        rows,
        goroutines,
        share_text,
        upstream_requests,
    })
}

/// Whether a connection loop waits for its peer rather than for its own program: a server
/// connection outside any handler, a client read loop blocked reading (`bufio.(*Reader).Peek`
/// at the top of its loop).
fn at_rest<'f>(role: ConnectionRole, mut facts: impl Iterator<Item = &'f Facts>) -> bool {
    match role {
        ConnectionRole::Http1Server => !facts.any(|f| f.connection.serves_handler),
        ConnectionRole::Http1ClientRead => facts.any(|f| f.connection.reader_peek),
        _ => false,
    }
}
