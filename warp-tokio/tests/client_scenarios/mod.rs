//! Client scenarios that run unchanged with both drivers' clients (tokio and smol: the same
//! API) against our demo server (`warp-tokio/tests/client_demo.rs`,
//! `warp-smol/tests/client_demo.rs`) and the real SwimOS server
//! (`conformance/tests/interop_swimos_{tokio,smol}.rs`): both host the same agents on
//! `/unit/:id` (value lanes `info` and `count`, map lane `history`, command lanes `set_info`,
//! `add`, `remove`).
//!
//! The including test crate names the client under test in a `driver` module at its root:
//! `mod driver { pub use warp_tokio::client::{Client, Downlink}; pub use futures::StreamExt; }`
//! (or the `warp_smol` / `futures_lite` equivalents). Waits use [`timeout`], which needs no
//! runtime, so the same file runs under tokio, smol and async-std.
//!
//! No sleeps: every wait is for an event, bounded by [`WAIT`]. A command gets no answer, so a
//! scenario that needs one to have taken effect waits for the event it causes. SwimOS does not
//! keep the order of commands relative to envelopes for other lanes of the same agent, so
//! every step that depends on an earlier command waits for its effect first. "Nothing else
//! arrived" is checked by ordering: a later, known event must come next.
#![allow(dead_code)] // each test binary uses a subset

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use crate::driver::{Client, Downlink, StreamExt};
use warp_proto::app::session::client::{DownlinkEvent, UnlinkReason};
use warp_proto::recon::Value;

/// A deadline that fires after a duration, driven by a plain thread: it works under any
/// runtime (tokio, smol, async-std), which a runtime's own timer does not.
struct Deadline {
    state: Arc<Mutex<(bool, Option<Waker>)>>,
}

impl Deadline {
    fn after(limit: Duration) -> Self {
        let state = Arc::new(Mutex::new((false, None::<Waker>)));
        let shared = Arc::clone(&state);
        std::thread::spawn(move || {
            std::thread::sleep(limit);
            let mut s = shared.lock().unwrap_or_else(|e| e.into_inner());
            s.0 = true;
            if let Some(w) = s.1.take() {
                w.wake();
            }
        });
        Deadline { state }
    }
}

impl Future for Deadline {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if s.0 {
            Poll::Ready(())
        } else {
            s.1 = Some(cx.waker().clone());
            Poll::Pending
        }
    }
}

/// `future`'s output, or `Err(())` when it takes longer than `limit`.
pub async fn timeout<F: Future>(limit: Duration, future: F) -> Result<F::Output, ()> {
    let mut future = std::pin::pin!(future);
    let mut deadline = Deadline::after(limit);
    std::future::poll_fn(|cx| {
        if let Poll::Ready(out) = future.as_mut().poll(cx) {
            return Poll::Ready(Ok(out));
        }
        match Pin::new(&mut deadline).poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(())),
            Poll::Pending => Poll::Pending,
        }
    })
    .await
}

/// How long to wait for one expected event.
pub const WAIT: Duration = Duration::from_secs(10);

/// A value from Recon text, read the way envelope bodies are.
pub fn v(recon: &str) -> Value {
    Value::parse_body(recon).unwrap_or_else(|e| panic!("bad Recon in the test {recon:?}: {e}"))
}

/// An `Event` item with the value of `recon`.
pub fn event(recon: &str) -> DownlinkEvent {
    DownlinkEvent::Event(v(recon))
}

/// Connects, failing the test with the reason if it cannot.
pub async fn connect(url: &str) -> Client {
    match timeout(WAIT, Client::connect(url)).await {
        Ok(Ok(client)) => client,
        Ok(Err(e)) => panic!("connecting to {url}: {e}"),
        Err(_) => panic!("connecting to {url} took longer than {WAIT:?}"),
    }
}

/// The next item of `downlink`, within [`WAIT`].
pub async fn next(downlink: &mut Downlink) -> DownlinkEvent {
    let (node, lane) = (downlink.node().to_string(), downlink.lane().to_string());
    match timeout(WAIT, downlink.next()).await {
        Ok(Some(event)) => event,
        Ok(None) => panic!("{node} {lane}: the downlink ended"),
        Err(_) => panic!("{node} {lane}: no event within {WAIT:?}"),
    }
}

/// Asserts that the next items of `downlink` are `want`, in order.
pub async fn expect(downlink: &mut Downlink, want: &[DownlinkEvent]) {
    for (i, w) in want.iter().enumerate() {
        let got = next(downlink).await;
        assert_eq!(
            &got,
            w,
            "{} {}: item {i} of {want:?}",
            downlink.node(),
            downlink.lane()
        );
    }
}

/// Asserts that the next `n` items of `downlink` are `want` in any order.
pub async fn expect_unordered(downlink: &mut Downlink, want: &[DownlinkEvent]) {
    let mut got = Vec::new();
    for _ in want {
        got.push(next(downlink).await);
    }
    let key = |e: &DownlinkEvent| format!("{e:?}");
    let mut want = want.to_vec();
    got.sort_by_key(key);
    want.sort_by_key(key);
    assert_eq!(
        got,
        want,
        "{} {} (any order)",
        downlink.node(),
        downlink.lane()
    );
}

/// Asserts that the stream of `downlink` ends (within [`WAIT`]).
pub async fn expect_end(downlink: &mut Downlink) {
    match timeout(WAIT, downlink.next()).await {
        Ok(None) => {}
        Ok(Some(event)) => panic!("expected the downlink to end, got {event:?}"),
        Err(_) => panic!("the downlink did not end within {WAIT:?}"),
    }
}

/// Sends a command, failing the test if it is refused.
pub async fn command(client: &Client, node: &str, lane: &str, body: &str) {
    if let Err(e) = client.command(node, lane, &v(body)).await {
        panic!("command {node} {lane} {body}: {e}");
    }
}

/// Opens a `link` downlink, failing the test if it is refused.
pub async fn link(client: &Client, node: &str, lane: &str) -> Downlink {
    client
        .link(node, lane)
        .await
        .unwrap_or_else(|e| panic!("link {node} {lane}: {e}"))
}

/// Opens a `sync` downlink, failing the test if it is refused.
pub async fn sync(client: &Client, node: &str, lane: &str) -> Downlink {
    client
        .sync(node, lane)
        .await
        .unwrap_or_else(|e| panic!("sync {node} {lane}: {e}"))
}

/// `sync` of a value lane: `Linked`, the state, `Synced`; a command then changes it.
pub async fn sync_value_lane_then_command_changes_it(url: &str) {
    let client = connect(url).await;
    let mut info = sync(&client, "/unit/1", "info").await;
    expect(
        &mut info,
        &[DownlinkEvent::Linked, event("\"\""), DownlinkEvent::Synced],
    )
    .await;
    command(&client, "/unit/1", "set_info", "\"hello\"").await;
    expect(&mut info, &[event("\"hello\"")]).await;
    client.close().await;
    expect(&mut info, &[DownlinkEvent::Unlinked(UnlinkReason::Closed)]).await;
    expect_end(&mut info).await;
}

/// `link` (no sync): `Linked`, then only changes, not the state.
pub async fn link_receives_only_changes(url: &str) {
    let client = connect(url).await;
    let mut count = link(&client, "/unit/2", "count").await;
    expect(&mut count, &[DownlinkEvent::Linked]).await;
    command(&client, "/unit/2", "add", "2").await;
    expect(&mut count, &[event("2")]).await;
    client.close().await;
}

/// `add` fills the map lane `history`; its `sync` replays every entry (in any order); `remove`
/// sends `@remove`.
pub async fn map_lane_sync_replays_entries_and_remove_is_an_event(url: &str) {
    let client = connect(url).await;
    let mut count = link(&client, "/unit/3", "count").await;
    expect(&mut count, &[DownlinkEvent::Linked]).await;
    command(&client, "/unit/3", "add", "5").await;
    expect(&mut count, &[event("5")]).await;
    command(&client, "/unit/3", "add", "3").await;
    expect(&mut count, &[event("8")]).await;

    let mut history = sync(&client, "/unit/3", "history").await;
    expect(&mut history, &[DownlinkEvent::Linked]).await;
    expect_unordered(
        &mut history,
        &[event("@update(key:5) 5"), event("@update(key:8) 3")],
    )
    .await;
    expect(&mut history, &[DownlinkEvent::Synced]).await;
    command(&client, "/unit/3", "remove", "5").await;
    expect(&mut history, &[event("@remove(key:5)")]).await;
    command(&client, "/unit/3", "add", "1").await;
    expect(&mut history, &[event("@update(key:9) 1")]).await;
    expect(&mut count, &[event("9")]).await;
    client.close().await;
}

/// Two downlinks on one lane share one link: each sees every event exactly once. A third,
/// `sync` one joining the open link gets `Linked` at once and the state, which the others
/// see too.
pub async fn two_downlinks_on_one_lane_share_the_link(url: &str) {
    let client = connect(url).await;
    let mut a = link(&client, "/unit/7", "count").await;
    let mut b = link(&client, "/unit/7", "count").await;
    expect(&mut a, &[DownlinkEvent::Linked]).await;
    expect(&mut b, &[DownlinkEvent::Linked]).await;
    command(&client, "/unit/7", "add", "4").await;
    command(&client, "/unit/7", "add", "1").await;
    // A second link on the wire would deliver each change twice to each downlink.
    expect(&mut a, &[event("4"), event("5")]).await;
    expect(&mut b, &[event("4"), event("5")]).await;

    let mut c = sync(&client, "/unit/7", "count").await;
    expect(
        &mut c,
        &[DownlinkEvent::Linked, event("5"), DownlinkEvent::Synced],
    )
    .await;
    expect(&mut a, &[event("5"), DownlinkEvent::Synced]).await;
    expect(&mut b, &[event("5"), DownlinkEvent::Synced]).await;

    // Closing one leaves the link to the others.
    a.close().await.expect("closing a");
    command(&client, "/unit/7", "add", "2").await;
    expect(&mut b, &[event("7")]).await;
    expect(&mut c, &[event("7")]).await;
    client.close().await;
}

/// Closing the last downlink of a lane sends `unlink`; a downlink opened on the same lane
/// right after gets a link of its own (`Linked`, then events), never the old link's
/// `unlinked`.
pub async fn closing_the_last_downlink_unlinks_and_the_lane_can_be_linked_again(url: &str) {
    let client = connect(url).await;
    let mut first = link(&client, "/unit/6", "info").await;
    expect(&mut first, &[DownlinkEvent::Linked]).await;
    first.close().await.expect("closing");
    let mut again = link(&client, "/unit/6", "info").await;
    expect(&mut again, &[DownlinkEvent::Linked]).await;
    command(&client, "/unit/6", "set_info", "\"back\"").await;
    expect(&mut again, &[event("\"back\"")]).await;

    // Dropping a downlink closes it too.
    drop(again);
    let mut third = link(&client, "/unit/6", "info").await;
    expect(&mut third, &[DownlinkEvent::Linked]).await;
    command(&client, "/unit/6", "set_info", "\"third\"").await;
    expect(&mut third, &[event("\"third\"")]).await;
    client.close().await;
}

/// An unknown node ends the downlink with `NodeNotFound`; the connection stays usable.
pub async fn unknown_node_ends_the_downlink_with_node_not_found(url: &str) {
    let client = connect(url).await;
    let mut nowhere = sync(&client, "/nowhere/1", "info").await;
    expect(
        &mut nowhere,
        &[DownlinkEvent::Unlinked(UnlinkReason::NodeNotFound)],
    )
    .await;
    expect_end(&mut nowhere).await;
    let mut info = link(&client, "/unit/4", "info").await;
    expect(&mut info, &[DownlinkEvent::Linked]).await;
    client.close().await;
}

/// An unknown lane ends the downlink with `LaneNotFound`; the connection stays usable.
pub async fn unknown_lane_ends_the_downlink_with_lane_not_found(url: &str) {
    let client = connect(url).await;
    let mut nolane = sync(&client, "/unit/5", "nolane").await;
    expect(
        &mut nolane,
        &[DownlinkEvent::Unlinked(UnlinkReason::LaneNotFound)],
    )
    .await;
    expect_end(&mut nolane).await;
    let mut info = link(&client, "/unit/5", "info").await;
    expect(&mut info, &[DownlinkEvent::Linked]).await;
    client.close().await;
}
