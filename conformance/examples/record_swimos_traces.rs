//! Records the traces `map_remove`, `map_remove_absent` and `two_links` of `conformance/traces/` from the real
//! SwimOS server: a scripted `tungstenite` client talks to `SwimosServer` through the
//! recorder of `conformance::trace::record` (the proxy of `warp-conformance record`).
//!
//! `cargo run -p conformance --example record_swimos_traces [OUT_DIR]` (default: the crate's
//! `traces/`). Each script step sends one frame, then reads until the server has been quiet
//! for 300 ms (at most 5 s), so the trace shows each answer after its request.

use std::net::TcpListener;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use conformance::peers::SwimosServer;
use conformance::suite::ws::{Incoming, WsPeer, WsUrl};
use conformance::trace::record::{record, RecordConfig};

/// One client step: a text frame to send.
struct Script {
    name: &'static str,
    notes: &'static str,
    order: &'static str,
    profile_differs: Option<&'static str>,
    frames: &'static [&'static str],
}

const SCRIPTS: &[Script] = &[
    Script {
        name: "map_remove",
        notes: "map lane: three adds, then sync (one @update per entry in no fixed order, then \
                synced); remove of a present key sends @remove(key:K); a later add is one \
                @update. Client closes with 1000. Recorded \
                with `cargo run -p conformance --example record_swimos_traces` (a scripted \
                tungstenite client through the warp-conformance recorder).",
        order: "per-link; map sync entries unordered",
        profile_differs: None,
        frames: &[
            "@command(node:\"/unit/40\",lane:add) 2",
            "@command(node:\"/unit/40\",lane:add) 5",
            "@command(node:\"/unit/40\",lane:add) 1",
            "@sync(node:\"/unit/40\",lane:history)",
            "@command(node:\"/unit/40\",lane:remove) 7",
            "@command(node:\"/unit/40\",lane:add) 3",
            "@unlink(node:\"/unit/40\",lane:history)",
        ],
    },
    Script {
        name: "map_remove_absent",
        notes: "map_remove with a remove of an absent key (99) before the last add: SwimOS \
                sends nothing for the absent key, and then drops the @update of the next \
                add (the same in every recording; without the absent remove the update \
                comes, see map_remove). Recorded with `cargo run -p conformance --example \
                record_swimos_traces` (a scripted tungstenite client through the \
                warp-conformance recorder).",
        order: "per-link; map sync entries unordered",
        profile_differs: Some(
            "our servers send the @update(key:11) 3 SwimOS drops after the absent remove",
        ),
        frames: &[
            "@command(node:\"/unit/42\",lane:add) 2",
            "@command(node:\"/unit/42\",lane:add) 5",
            "@command(node:\"/unit/42\",lane:add) 1",
            "@sync(node:\"/unit/42\",lane:history)",
            "@command(node:\"/unit/42\",lane:remove) 7",
            "@command(node:\"/unit/42\",lane:remove) 99",
            "@command(node:\"/unit/42\",lane:add) 3",
            "@unlink(node:\"/unit/42\",lane:history)",
        ],
    },
    Script {
        name: "two_links",
        notes: "two links on one connection (info and count of one agent) with interleaved \
                commands: each command's event goes to its own link only; after one link is \
                unlinked the other still gets events. Client closes with 1000. Recorded with \
                `cargo run -p conformance --example record_swimos_traces` (a scripted \
                tungstenite client through the warp-conformance recorder).",
        order: "per-link",
        profile_differs: None,
        frames: &[
            "@sync(node:\"/unit/41\",lane:info)",
            "@link(node:\"/unit/41\",lane:count)",
            "@command(node:\"/unit/41\",lane:set_info) a",
            "@command(node:\"/unit/41\",lane:add) 4",
            "@command(node:\"/unit/41\",lane:set_info) \"b c\"",
            "@command(node:\"/unit/41\",lane:add) 6",
            "@unlink(node:\"/unit/41\",lane:info)",
            "@command(node:\"/unit/41\",lane:set_info) unseen",
            "@command(node:\"/unit/41\",lane:add) 1",
            "@unlink(node:\"/unit/41\",lane:count)",
        ],
    },
];

/// Reads until nothing came for `quiet` (at most `max`).
fn settle(peer: &mut WsPeer, quiet: Duration, max: Duration) {
    let end = Instant::now() + max;
    while Instant::now() < end {
        match peer.recv(quiet) {
            Incoming::Nothing | Incoming::Ended(_) => return,
            _ => {}
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out_dir = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("traces"));
    let server = SwimosServer::start()?;
    let upstream = WsUrl::parse(&server.ws_url())?;
    for script in SCRIPTS {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let mut config = RecordConfig::new(upstream.clone(), script.name);
        config.header.server = "swimos 0.1.1 (peers/swimos-server)".into();
        config.header.client = "scripted tungstenite client (record_swimos_traces)".into();
        config.header.notes = script.notes.into();
        config.header.order = script.order.into();
        config.header.profile_differs = script.profile_differs.map(str::to_string);
        config.wait = Duration::from_secs(10);
        let recorder = std::thread::spawn(move || record(listener, &config));
        let url = WsUrl::parse(&format!("ws://{addr}/"))?;
        let (mut peer, _) = WsPeer::connect(&url, Some("warp0"), Duration::from_secs(5))?;
        for frame in script.frames {
            peer.send_text(frame)?;
            settle(
                &mut peer,
                Duration::from_millis(300),
                Duration::from_secs(5),
            );
        }
        peer.send_close(1000)?;
        settle(&mut peer, Duration::from_secs(2), Duration::from_secs(5));
        drop(peer);
        let traces = recorder
            .join()
            .map_err(|_| "the recorder thread panicked")??;
        for trace in traces {
            if let Some(e) = &trace.error {
                return Err(format!("{}: {e}", trace.header.name).into());
            }
            let path = out_dir.join(format!("{}.jsonl", trace.header.name));
            trace.write(&path)?;
            println!("recorded {}: {} frames", path.display(), trace.frames.len());
        }
    }
    server.stop()?;
    Ok(())
}
