//! The borrowed paths of the core allocate nothing: proven with a counting global allocator on
//! the benchmark corpora (S, M and L).
//!
//! The counter is per thread, so tests running in parallel do not disturb each other; each
//! measured block runs on the test's own thread after its inputs are built.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use warp_benches::corpus;
use warp_proto::connection::{Config, Fixed, ServerConnection, ServerRequest, Transmit};
use warp_proto::envelope::{Body, Envelope};
use warp_proto::recon::Event;

/// Counts allocations (and reallocations) made by the current thread.
struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn bump() {
    // `try_with` so an allocation during thread teardown is not a panic.
    let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
}

// SAFETY: every call is forwarded unchanged to the system allocator; the counter is a
// const-initialised thread-local cell, which itself never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        bump();
        System.alloc(layout)
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        bump();
        System.alloc_zeroed(layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        bump();
        System.realloc(ptr, layout, new_size)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Runs `f` and returns what it returned with the number of allocations it made.
fn count<T>(f: impl FnOnce() -> T) -> (T, u64) {
    let before = ALLOCATIONS.with(Cell::get);
    let out = f();
    let after = ALLOCATIONS.with(Cell::get);
    (out, after - before)
}

#[test]
fn the_counter_sees_allocations() {
    // Guards the other tests: a counter that never counts would make them pass vacuously.
    let (v, n) = count(|| vec![1u8; 64]);
    assert_eq!(v.len(), 64);
    assert!(
        n >= 1,
        "the counting allocator did not count a Vec allocation"
    );
}

#[test]
fn header_decode_allocates_nothing() {
    for c in corpus::all() {
        let (decoded, n) = count(|| {
            let mut decoded = 0usize;
            for frame in &c.frames {
                let env = Envelope::decode_header(frame).expect("corpus frames are valid");
                decoded +=
                    env.node.chars().count() + env.lane.chars().count() + env.body.raw().len();
            }
            decoded
        });
        assert!(decoded > 0);
        assert_eq!(
            n, 0,
            "corpus {}: decode_header allocated {} times",
            c.name, n
        );
    }
}

#[test]
fn full_decode_and_body_walk_allocate_nothing() {
    for c in corpus::all() {
        let (events, n) = count(|| {
            let mut events = 0usize;
            let mut chars = 0usize;
            for frame in &c.frames {
                let env = Envelope::decode(frame).expect("corpus frames are valid");
                for event in env.body.reader() {
                    match event.expect("bodies of valid frames read") {
                        // Escaped text is decoded lazily, without a buffer.
                        Event::Text(t) | Event::Attr(t) => chars += t.chars().count(),
                        _ => {}
                    }
                    events += 1;
                }
            }
            events + chars
        });
        assert!(events > c.frames.len());
        assert_eq!(
            n, 0,
            "corpus {}: decode + body walk allocated {} times",
            c.name, n
        );
    }
}

#[test]
fn encode_to_slice_allocates_nothing() {
    for c in corpus::all() {
        let envelopes: Vec<Envelope<'_>> = c
            .frames
            .iter()
            .map(|f| Envelope::decode_header(f).expect("corpus frames are valid"))
            .collect();
        let mut buf = vec![0u8; 128 * 1024];
        let (written, n) = count(|| {
            let mut written = 0usize;
            for env in &envelopes {
                written += env
                    .encode_to_slice(&mut buf)
                    .expect("buffer is large enough");
            }
            written
        });
        assert!(written >= c.recon_bytes() / 2);
        assert_eq!(
            n, 0,
            "corpus {}: encode_to_slice allocated {} times",
            c.name, n
        );
    }
}

/// One steady-state round of a server connection: a command comes in, the application
/// publishes a lane event, the machine encodes it to every link on the lane, the driver drains.
fn server_round<S: warp_proto::connection::Storage>(s: &mut ServerConnection<S>, i: u64) -> usize {
    match s.handle_frame("@command(node:\"/unit/1\",lane:add) 1") {
        Ok(Some(ServerRequest::Command { .. })) => {}
        other => panic!("expected a command, got {other:?}"),
    }
    let mut body = [0u8; 20];
    let len = {
        use std::io::Write as _;
        let mut cursor = std::io::Cursor::new(&mut body[..]);
        write!(cursor, "{i}").expect("20 bytes hold any u64");
        cursor.position() as usize
    };
    let text = std::str::from_utf8(&body[..len]).expect("digits are UTF-8");
    let sent = s
        .publish("/unit/1", "count", Body::from_raw(text))
        .expect("queue has room");
    let mut bytes = 0;
    while let Some(t) = s.poll_transmit() {
        if let Transmit::Frame(f) = t {
            bytes += f.len();
        }
    }
    assert_eq!(sent, 1);
    bytes
}

fn open_synced_link<S: warp_proto::connection::Storage>(s: &mut ServerConnection<S>) {
    // A sync, then a second sync on the open link (state again, no second `linked`).
    let link = match s.handle_frame("@sync(node:\"/unit/1\",lane:count)") {
        Ok(Some(ServerRequest::Link { link, sync, .. })) => {
            assert!(sync);
            link
        }
        other => panic!("expected a link request, got {other:?}"),
    };
    s.accept(link).expect("accept");
    s.sync_event(link, Body::from_raw("0")).expect("sync state");
    s.synced(link).expect("synced");
    match s.handle_frame("@sync(node:\"/unit/1\",lane:count)") {
        Ok(Some(ServerRequest::Sync { link: again })) => assert_eq!(again, link),
        other => panic!("expected a sync of the open link, got {other:?}"),
    }
    s.sync_event(link, Body::from_raw("0")).expect("sync state");
    s.synced(link).expect("synced");
    // The sync link needs its state and `synced` before lane events reach it.
    while s.poll_transmit().is_some() {}
}

#[test]
fn server_steady_state_allocates_nothing_with_heap_storage() {
    let mut s = ServerConnection::new(Config::default());
    // Warm up: the first rounds may size the link table and the queue once.
    open_synced_link(&mut s);
    for i in 0..16 {
        server_round(&mut s, i);
    }
    let (bytes, n) = count(|| (16..10_016).map(|i| server_round(&mut s, i)).sum::<usize>());
    assert!(bytes > 10_000 * 30);
    assert_eq!(n, 0, "10,000 steady-state rounds allocated {} times", n);
}

#[test]
fn server_with_fixed_storage_never_allocates() {
    let (bytes, n) = count(|| {
        let mut s = ServerConnection::<Fixed>::with_storage(Config::default());
        open_synced_link(&mut s);
        (0..1_000).map(|i| server_round(&mut s, i)).sum::<usize>()
    });
    assert!(bytes > 1_000 * 30);
    assert_eq!(n, 0, "a Fixed-storage server allocated {} times", n);
}
