//! The server machine against WARP.md section 3.1 and PROFILE.md "Link lifecycle (server
//! side)", one behaviour per test.

mod common;

use common::{drain_server, texts, Out};
use warp_proto::connection::{
    Accepted, Bound, CallError, Close, Config, Fixed, HandleError, LinkId, LinkState,
    ProtocolErrorKind, QueueError, Refusal, Rejection, ServerConnection, ServerRequest, Storage,
    Transmit,
};
use warp_proto::envelope::{Body, Tag};

const SYNC_INFO: &str = "@sync(node:\"/unit/1\",lane:info)";
const LINK_INFO: &str = "@link(node:\"/unit/1\",lane:info)";
const UNLINK_INFO: &str = "@unlink(node:\"/unit/1\",lane:info)";
const LINKED_INFO: &str = "@linked(node:\"/unit/1\",lane:info)";
const SYNCED_INFO: &str = "@synced(node:\"/unit/1\",lane:info)";
const UNLINKED_INFO: &str = "@unlinked(node:\"/unit/1\",lane:info)\"Link closed.\"";

fn server() -> ServerConnection {
    ServerConnection::new(Config::default())
}

/// Hands in a `link`/`sync` frame and returns the new link's id.
fn request_link<S: Storage>(s: &mut ServerConnection<S>, frame: &str) -> (LinkId, bool) {
    match s.handle_frame(frame) {
        Ok(Some(ServerRequest::Link { link, sync, .. })) => (link, sync),
        other => panic!("expected a link request, got {other:?}"),
    }
}

/// A link accepted and drained.
fn open_link(s: &mut ServerConnection, frame: &str) -> LinkId {
    let (link, _) = request_link(s, frame);
    s.accept(link).unwrap();
    drain_server(s);
    link
}

#[test]
fn link_to_existing_lane_answers_linked_then_events_as_lane_changes() {
    let mut s = server();
    let (link, sync) = request_link(&mut s, LINK_INFO);
    assert!(!sync);
    assert_eq!(s.link_state(link), Some(LinkState::Opening));
    assert_eq!(
        drain_server(&mut s),
        [],
        "nothing is sent before the application answers"
    );
    assert_eq!(s.accept(link), Ok(Accepted::Linked));
    assert_eq!(texts(&drain_server(&mut s)), [LINKED_INFO]);
    assert_eq!(s.publish("/unit/1", "info", Body::from_raw("\"a\"")), Ok(1));
    assert_eq!(s.publish("/unit/1", "info", Body::from_raw("\"b\"")), Ok(1));
    assert_eq!(
        texts(&drain_server(&mut s)),
        [
            "@event(node:\"/unit/1\",lane:info)\"a\"",
            "@event(node:\"/unit/1\",lane:info)\"b\""
        ]
    );
}

#[test]
fn sync_replays_state_then_synced() {
    let mut s = server();
    let (link, sync) = request_link(&mut s, SYNC_INFO);
    assert!(sync);
    assert_eq!(s.accept(link), Ok(Accepted::Syncing));
    assert_eq!(s.link_state(link), Some(LinkState::Syncing));
    s.sync_event(link, Body::from_raw("\"\"")).unwrap();
    s.synced(link).unwrap();
    assert_eq!(s.link_state(link), Some(LinkState::Linked));
    assert_eq!(
        texts(&drain_server(&mut s)),
        [
            LINKED_INFO,
            "@event(node:\"/unit/1\",lane:info)\"\"",
            SYNCED_INFO
        ]
    );
}

#[test]
fn map_sync_sends_one_event_per_entry_then_synced() {
    let mut s = server();
    let (link, _) = request_link(&mut s, "@sync(node:\"/unit/3\",lane:history)");
    s.accept(link).unwrap();
    for (k, v) in [(1, 1), (3, 2), (6, 3)] {
        let body = format!("@update(key:{k}) {v}");
        s.sync_event(link, Body::from_raw(&body)).unwrap();
    }
    s.synced(link).unwrap();
    let out = texts(&drain_server(&mut s));
    assert_eq!(out.len(), 5);
    assert_eq!(out[0], "@linked(node:\"/unit/3\",lane:history)");
    assert_eq!(
        out[1],
        "@event(node:\"/unit/3\",lane:history)@update(key:1) 1"
    );
    assert_eq!(out[4], "@synced(node:\"/unit/3\",lane:history)");
}

#[test]
fn command_is_delivered_without_reply() {
    let mut s = server();
    let req = s
        .handle_frame("@command(node:\"/unit/1\",lane:set_info)\"hello world\"")
        .unwrap();
    let Some(ServerRequest::Command { node, lane, body }) = req else {
        panic!("{req:?}")
    };
    assert!(node == "/unit/1" && lane == "set_info");
    assert_eq!(body.raw(), "\"hello world\"");
    assert_eq!(drain_server(&mut s), []);
    assert_eq!(s.link_count(), 0, "a command opens no link");
}

#[test]
fn unlink_of_open_link_answers_unlinked_and_forgets_the_link() {
    let mut s = server();
    let link = open_link(&mut s, LINK_INFO);
    assert_eq!(
        s.handle_frame(UNLINK_INFO),
        Ok(Some(ServerRequest::Unlink { link }))
    );
    assert_eq!(texts(&drain_server(&mut s)), [UNLINKED_INFO]);
    assert_eq!(s.link_state(link), None);
    assert_eq!(s.link_count(), 0);
    assert_eq!(s.publish("/unit/1", "info", Body::from_raw("1")), Ok(0));
    assert_eq!(
        s.event(link, Body::from_raw("1")),
        Err(CallError::UnknownLink)
    );
}

#[test]
fn unlink_of_link_not_open_sends_nothing() {
    let mut s = server();
    assert_eq!(s.handle_frame(UNLINK_INFO), Ok(None));
    assert_eq!(drain_server(&mut s), []);
    // And the connection is unaffected.
    let link = open_link(&mut s, SYNC_INFO);
    assert_eq!(s.link_state(link), Some(LinkState::Syncing));
}

#[test]
fn unlink_of_pending_link_answers_unlinked_and_withdraws_the_request() {
    // The client is waiting for an answer to its link; `unlinked` is the one it gets.
    let mut s = server();
    let (link, _) = request_link(&mut s, LINK_INFO);
    assert_eq!(
        s.handle_frame(UNLINK_INFO),
        Ok(Some(ServerRequest::Unlink { link }))
    );
    assert_eq!(texts(&drain_server(&mut s)), [UNLINKED_INFO]);
    assert_eq!(s.accept(link), Err(CallError::UnknownLink));
    assert_eq!(drain_server(&mut s), []);
}

#[test]
fn second_sync_on_open_link_replays_state_without_second_linked() {
    let mut s = server();
    let link = open_link(&mut s, LINK_INFO);
    assert_eq!(
        s.handle_frame(SYNC_INFO),
        Ok(Some(ServerRequest::Sync { link }))
    );
    assert_eq!(s.link_state(link), Some(LinkState::Syncing));
    s.sync_event(link, Body::from_raw("x")).unwrap();
    s.synced(link).unwrap();
    assert_eq!(
        texts(&drain_server(&mut s)),
        ["@event(node:\"/unit/1\",lane:info) x", SYNCED_INFO]
    );
    assert_eq!(s.link_count(), 1, "one link is kept");
}

#[test]
fn second_link_on_open_link_answers_linked_again() {
    let mut s = server();
    let link = open_link(&mut s, LINK_INFO);
    assert_eq!(s.handle_frame(LINK_INFO), Ok(None));
    assert_eq!(texts(&drain_server(&mut s)), [LINKED_INFO]);
    assert_eq!(s.link_count(), 1, "one link is kept");
    assert_eq!(s.find_link("/unit/1", "info"), Some(link));
}

#[test]
fn link_and_sync_on_pending_link_merge_into_one_request() {
    let mut s = server();
    let (link, sync) = request_link(&mut s, LINK_INFO);
    assert!(!sync);
    assert_eq!(s.handle_frame(SYNC_INFO), Ok(None));
    assert_eq!(s.handle_frame(LINK_INFO), Ok(None));
    assert_eq!(s.link_count(), 1);
    assert_eq!(
        s.accept(link),
        Ok(Accepted::Syncing),
        "the merged sync is owed"
    );
    s.sync_event(link, Body::from_raw("1")).unwrap();
    s.synced(link).unwrap();
    assert_eq!(
        texts(&drain_server(&mut s)),
        [
            LINKED_INFO,
            "@event(node:\"/unit/1\",lane:info) 1",
            SYNCED_INFO
        ]
    );
}

#[test]
fn unknown_node_is_unlinked_node_not_found_and_the_connection_stays_open() {
    let mut s = server();
    let (link, _) = request_link(&mut s, "@sync(node:\"/nowhere/1\",lane:info)");
    s.reject(link, Rejection::NodeNotFound).unwrap();
    assert_eq!(
        texts(&drain_server(&mut s)),
        ["@unlinked(node:\"/nowhere/1\",lane:info)@nodeNotFound"]
    );
    assert!(s.is_open());
    assert_eq!(s.link_count(), 0);
    assert_eq!(s.accept(link), Err(CallError::UnknownLink));
}

#[test]
fn unknown_lane_is_unlinked_lane_not_found() {
    let mut s = server();
    let (link, _) = request_link(&mut s, "@sync(node:\"/unit/8\",lane:nolane)");
    s.reject(link, Rejection::LaneNotFound).unwrap();
    assert_eq!(
        texts(&drain_server(&mut s)),
        ["@unlinked(node:\"/unit/8\",lane:nolane)@laneNotFound"]
    );
    assert!(s.is_open());
}

#[test]
fn accept_or_reject_of_an_answered_link_is_not_pending() {
    let mut s = server();
    let link = open_link(&mut s, LINK_INFO);
    assert_eq!(s.accept(link), Err(CallError::NotPending));
    assert_eq!(
        s.reject(link, Rejection::LaneNotFound),
        Err(CallError::NotPending)
    );
    assert_eq!(drain_server(&mut s), []);
}

#[test]
fn sync_answers_are_refused_without_a_sync_to_answer() {
    let mut s = server();
    let (pending, _) = request_link(&mut s, SYNC_INFO);
    assert_eq!(
        s.sync_event(pending, Body::from_raw("1")),
        Err(CallError::NotOpen)
    );
    assert_eq!(
        s.event(pending, Body::from_raw("1")),
        Err(CallError::NotOpen)
    );
    assert_eq!(s.accept(pending), Ok(Accepted::Syncing));
    s.synced(pending).unwrap();
    assert_eq!(s.synced(pending), Err(CallError::NotSyncing));
    assert_eq!(
        s.sync_event(pending, Body::from_raw("1")),
        Err(CallError::NotSyncing)
    );
}

#[test]
fn publish_reaches_open_links_on_that_lane_only() {
    let mut s = server();
    let a = open_link(&mut s, LINK_INFO);
    let _other_lane = open_link(&mut s, "@link(node:\"/unit/1\",lane:count)");
    let _other_node = open_link(&mut s, "@link(node:\"/unit/2\",lane:info)");
    let (_pending, _) = request_link(&mut s, "@link(node:\"/unit/3\",lane:info)");
    assert_eq!(s.publish("/unit/1", "info", Body::from_raw("7")), Ok(1));
    assert_eq!(
        texts(&drain_server(&mut s)),
        ["@event(node:\"/unit/1\",lane:info) 7"]
    );
    assert_eq!(s.publish("/unit/3", "info", Body::from_raw("7")), Ok(0));
    s.event(a, Body::from_raw("8")).unwrap();
    assert_eq!(
        texts(&drain_server(&mut s)),
        ["@event(node:\"/unit/1\",lane:info) 8"]
    );
}

#[test]
fn server_may_end_an_open_link_with_unlinked() {
    let mut s = server();
    let link = open_link(&mut s, LINK_INFO);
    s.unlink(link, Body::absent()).unwrap();
    assert_eq!(
        texts(&drain_server(&mut s)),
        ["@unlinked(node:\"/unit/1\",lane:info)"]
    );
    assert_eq!(s.link_state(link), None);
}

#[test]
fn auth_accepted_answers_authed() {
    let mut s = server();
    let req = s.handle_frame("@auth{token:abc}").unwrap();
    let Some(ServerRequest::Auth { body }) = req else {
        panic!("{req:?}")
    };
    assert_eq!(body.raw(), "{token:abc}");
    s.authenticate(true).unwrap();
    assert_eq!(texts(&drain_server(&mut s)), ["@authed"]);
    assert!(s.is_open());
    assert_eq!(s.authenticate(true), Err(CallError::NoAuthPending));
}

#[test]
fn auth_refused_answers_deauthed_then_closes_with_1008() {
    let mut s = server();
    s.handle_frame("@auth{token:bad}").unwrap();
    s.authenticate(false).unwrap();
    assert_eq!(
        drain_server(&mut s),
        [Out::Frame("@deauthed".into()), Out::Close(1008)]
    );
    assert!(s.is_closed());
}

#[test]
fn deauth_answers_deauthed_then_closes() {
    let mut s = server();
    let _link = open_link(&mut s, LINK_INFO);
    assert_eq!(s.handle_frame("@deauth"), Ok(Some(ServerRequest::Deauth)));
    assert_eq!(s.handle_frame(LINK_INFO), Err(HandleError::Closed));
    assert_eq!(
        s.publish("/unit/1", "info", Body::absent()),
        Err(CallError::Closed)
    );
    assert_eq!(
        drain_server(&mut s),
        [Out::Frame("@deauthed".into()), Out::Close(1000)]
    );
    assert_eq!(s.poll_transmit(), None, "nothing after the close");
}

#[test]
fn invalid_frame_is_reported_counted_and_the_connection_kept() {
    let mut s = server();
    let link = open_link(&mut s, LINK_INFO);
    for (n, bad) in [
        "@link(node:\"/unit/1\",lane:info",
        "@bogus(node:\"/unit/1\",lane:info)",
        "@link(node:\"/unit/1\")",
    ]
    .into_iter()
    .enumerate()
    {
        match s.handle_frame(bad) {
            Err(HandleError::Protocol(e)) => {
                assert!(matches!(e.kind, ProtocolErrorKind::Envelope(_)), "{e:?}");
                assert_eq!(e.count as usize, n + 1);
                assert_eq!(e.close, None);
            }
            other => panic!("{bad}: {other:?}"),
        }
    }
    assert_eq!(drain_server(&mut s), []);
    assert_eq!(s.stats().protocol_errors, 3);
    assert_eq!(s.link_state(link), Some(LinkState::Linked));
}

#[test]
fn too_many_bad_frames_close_with_1002() {
    let mut s = ServerConnection::new(Config::default().with_max_protocol_errors(1));
    let link = open_link(&mut s, LINK_INFO);
    s.event(link, Body::from_raw("1")).unwrap();
    assert!(matches!(
        s.handle_frame("@bogus"),
        Err(HandleError::Protocol(e)) if e.close.is_none()
    ));
    assert!(matches!(
        s.handle_frame("@bogus"),
        Err(HandleError::Protocol(e)) if e.close == Some(Close::ProtocolError) && e.count == 2
    ));
    assert_eq!(s.handle_frame(LINK_INFO), Err(HandleError::Closed));
    assert_eq!(
        drain_server(&mut s),
        [
            Out::Frame("@event(node:\"/unit/1\",lane:info) 1".into()),
            Out::Close(1002)
        ],
        "frames queued before the close still go out, then the close"
    );
}

#[test]
fn zero_tolerance_closes_on_the_first_bad_frame_like_swimos() {
    let mut s = ServerConnection::new(Config::default().with_max_protocol_errors(0));
    assert!(matches!(
        s.handle_frame("@link(node:\"/unit/1\",lane:info"),
        Err(HandleError::Protocol(e)) if e.close == Some(Close::ProtocolError)
    ));
    assert_eq!(drain_server(&mut s), [Out::Close(1002)]);
}

#[test]
fn bad_utf8_frames_are_protocol_errors_closing_with_1007() {
    let mut s = ServerConnection::new(Config::default().with_max_protocol_errors(0));
    match s.handle_frame_bytes(b"@link(node:\"/\xff\",lane:info)") {
        Err(HandleError::Protocol(e)) => {
            assert_eq!(e.kind, ProtocolErrorKind::InvalidUtf8 { valid_up_to: 13 });
            assert_eq!(e.close, Some(Close::InvalidUtf8));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(drain_server(&mut s), [Out::Close(1007)]);
}

#[test]
fn valid_utf8_bytes_are_handled_like_text() {
    let mut s = server();
    assert!(matches!(
        s.handle_frame_bytes(LINK_INFO.as_bytes()),
        Ok(Some(ServerRequest::Link { .. }))
    ));
}

#[test]
fn binary_frame_is_a_protocol_error() {
    let mut s = server();
    match s.handle_binary_frame(3) {
        HandleError::Protocol(e) => {
            assert_eq!(e.kind, ProtocolErrorKind::Binary);
            assert_eq!(e.close, None);
        }
        other => panic!("{other:?}"),
    }
    assert!(s.is_open());
}

#[test]
fn frame_over_max_len_closes_with_1009() {
    let mut s = ServerConnection::new(Config::default().with_max_frame_len(16));
    match s.handle_frame(LINK_INFO) {
        Err(HandleError::Protocol(e)) => {
            assert_eq!(
                e.kind,
                ProtocolErrorKind::FrameTooLarge {
                    len: LINK_INFO.len()
                }
            );
            assert_eq!(e.close, Some(Close::FrameTooLarge));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(drain_server(&mut s), [Out::Close(1009)]);
}

#[test]
fn envelopes_only_servers_send_are_protocol_errors_from_a_client() {
    let mut s = server();
    for frame in [
        LINKED_INFO,
        SYNCED_INFO,
        "@event(node:\"/unit/1\",lane:info) 1",
        "@unlinked(node:\"/unit/1\",lane:info)",
        "@authed",
        "@deauthed",
    ] {
        match s.handle_frame(frame) {
            Err(HandleError::Protocol(e)) => {
                assert!(
                    matches!(e.kind, ProtocolErrorKind::Unexpected(_)),
                    "{frame}"
                );
            }
            other => panic!("{frame}: {other:?}"),
        }
    }
    assert!(matches!(
        s.handle_frame("@linked(node:a,lane:b)"),
        Err(HandleError::Protocol(e)) if e.kind == ProtocolErrorKind::Unexpected(Tag::Linked)
    ));
    assert_eq!(drain_server(&mut s), []);
}

#[test]
fn link_beyond_max_links_is_refused_with_too_many_links() {
    let mut s = ServerConnection::new(Config::default().with_max_links(1));
    let _first = open_link(&mut s, LINK_INFO);
    let req = s.handle_frame("@sync(node:\"/unit/2\",lane:info)").unwrap();
    let Some(ServerRequest::Refused { node, lane, reason }) = req else {
        panic!("{req:?}")
    };
    assert!(node == "/unit/2" && lane == "info");
    assert_eq!(reason, Refusal::TooManyLinks);
    assert_eq!(
        texts(&drain_server(&mut s)),
        ["@unlinked(node:\"/unit/2\",lane:info)@tooManyLinks"]
    );
    assert_eq!(s.stats().refused_links, 1);
    assert_eq!(s.link_count(), 1);
    assert!(s.is_open());
    // A slot freed by unlink is usable again.
    s.handle_frame(UNLINK_INFO).unwrap();
    drain_server(&mut s);
    let (_, _) = request_link(&mut s, "@sync(node:\"/unit/2\",lane:info)");
}

#[test]
fn link_with_uri_too_long_is_refused_with_uri_too_long() {
    let mut s = ServerConnection::new(Config::default().with_max_uri_len(6));
    let req = s
        .handle_frame("@link(node:\"/unit/12\",lane:info)")
        .unwrap();
    assert!(matches!(
        req,
        Some(ServerRequest::Refused {
            reason: Refusal::UriTooLong,
            ..
        })
    ));
    assert_eq!(
        texts(&drain_server(&mut s)),
        ["@unlinked(node:\"/unit/12\",lane:info)@uriTooLong"]
    );
    assert_eq!(s.link_count(), 0);
}

#[test]
fn escaped_node_text_is_stored_decoded() {
    let mut s = server();
    let (link, _) = request_link(&mut s, "@link(node:\"/unit/\\u0031\",lane:info)");
    assert_eq!(s.link_node(link), Some("/unit/1"));
    assert_eq!(s.find_link("/unit/1", "info"), Some(link));
    // The same link spelled plainly is the same link.
    assert_eq!(s.handle_frame(LINK_INFO), Ok(None));
}

#[test]
fn full_queue_is_backpressure_and_the_same_frame_can_be_handed_in_again() {
    let mut s = ServerConnection::new(Config::default().with_max_queued_frames(1));
    let link = open_link(&mut s, LINK_INFO);
    s.event(link, Body::from_raw("1")).unwrap();
    // The unlink needs an `unlinked` answer, which does not fit.
    assert_eq!(
        s.handle_frame(UNLINK_INFO),
        Err(HandleError::Backpressure(Bound::Frames))
    );
    assert_eq!(
        s.link_state(link),
        Some(LinkState::Linked),
        "nothing changed"
    );
    assert_eq!(
        s.event(link, Body::from_raw("2")),
        Err(CallError::Queue(QueueError::Full {
            bound: Bound::Frames
        }))
    );
    assert_eq!(
        texts(&drain_server(&mut s)),
        ["@event(node:\"/unit/1\",lane:info) 1"]
    );
    assert_eq!(
        s.handle_frame(UNLINK_INFO),
        Ok(Some(ServerRequest::Unlink { link }))
    );
    assert_eq!(texts(&drain_server(&mut s)), [UNLINKED_INFO]);
}

#[test]
fn byte_bound_is_backpressure_for_publish_until_drained() {
    let event_len = "@event(node:\"/unit/1\",lane:info)\"0123456789\"".len();
    let mut s = ServerConnection::new(Config::default().with_max_queued_bytes(event_len + 10));
    let link = open_link(&mut s, LINK_INFO);
    assert_eq!(
        s.publish("/unit/1", "info", Body::from_raw("\"0123456789\"")),
        Ok(1)
    );
    assert_eq!(
        s.publish("/unit/1", "info", Body::from_raw("\"0123456789\"")),
        Err(CallError::Queue(QueueError::Full {
            bound: Bound::Bytes
        }))
    );
    assert_eq!(s.queued_frames(), 1, "nothing queued on failure");
    assert_eq!(s.queued_bytes(), event_len);
    assert_eq!(drain_server(&mut s).len(), 1);
    assert_eq!(
        s.publish("/unit/1", "info", Body::from_raw("\"0123456789\"")),
        Ok(1)
    );
    assert_eq!(s.link_state(link), Some(LinkState::Linked));
}

#[test]
fn frame_larger_than_the_queue_is_refused_not_queued() {
    let mut s = ServerConnection::new(Config::default().with_max_queued_bytes(48));
    let link = open_link(&mut s, LINK_INFO);
    let big = format!("\"{}\"", "x".repeat(100));
    match s.event(link, Body::from_raw(&big)) {
        Err(CallError::Queue(QueueError::FrameTooLarge { len })) => {
            assert_eq!(len, "@event(node:\"/unit/1\",lane:info)".len() + big.len());
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(s.queued_frames(), 0);
}

#[test]
fn stale_link_id_is_never_confused_with_a_later_link_in_the_same_slot() {
    let mut s = server();
    let old = open_link(&mut s, LINK_INFO);
    s.handle_frame(UNLINK_INFO).unwrap();
    drain_server(&mut s);
    let new = open_link(&mut s, "@link(node:\"/unit/2\",lane:info)");
    assert_eq!(old.index(), new.index(), "the slot is reused");
    assert_ne!(old, new);
    assert_eq!(
        s.event(old, Body::from_raw("1")),
        Err(CallError::UnknownLink)
    );
    assert_eq!(s.link_node(new), Some("/unit/2"));
}

#[test]
fn close_sends_the_queued_frames_then_1000() {
    let mut s = server();
    let link = open_link(&mut s, LINK_INFO);
    s.event(link, Body::from_raw("1")).unwrap();
    s.close();
    assert!(!s.is_open());
    assert_eq!(
        s.poll_transmit(),
        Some(Transmit::Frame("@event(node:\"/unit/1\",lane:info) 1"))
    );
    assert_eq!(s.poll_transmit(), Some(Transmit::Close(Close::Normal)));
    assert!(s.is_closed());
    assert_eq!(s.poll_transmit(), None);
}

#[test]
fn fixed_storage_server_holds_its_capacity_and_refuses_beyond_it() {
    // Two links, 16-byte URIs, 160 bytes of queue: no heap involved in the machine.
    let mut s = ServerConnection::<Fixed<2, 0, 16, 160>>::with_storage(Config::default());
    let (a, _) = request_link(&mut s, LINK_INFO);
    s.accept(a).unwrap();
    let (b, _) = request_link(&mut s, "@sync(node:\"/unit/2\",lane:info)");
    assert_eq!(s.accept(b), Ok(Accepted::Syncing));
    s.sync_event(b, Body::from_raw("5")).unwrap();
    s.synced(b).unwrap();
    assert_eq!(
        texts(&drain_server(&mut s)),
        [
            LINKED_INFO,
            "@linked(node:\"/unit/2\",lane:info)",
            "@event(node:\"/unit/2\",lane:info) 5",
            "@synced(node:\"/unit/2\",lane:info)"
        ]
    );
    assert!(matches!(
        s.handle_frame("@link(node:\"/unit/3\",lane:info)"),
        Ok(Some(ServerRequest::Refused {
            reason: Refusal::TooManyLinks,
            ..
        }))
    ));
    assert!(matches!(
        s.handle_frame("@command(node:\"/a-node-longer-than-16\",lane:x) 1"),
        Ok(Some(ServerRequest::Command { .. })),
    ));
    drain_server(&mut s);
    s.handle_frame(UNLINK_INFO).unwrap();
    drain_server(&mut s);
    assert!(matches!(
        s.handle_frame("@link(node:\"/a-node-longer-than-16\",lane:info)"),
        Ok(Some(ServerRequest::Refused {
            reason: Refusal::UriTooLong,
            ..
        }))
    ));
    drain_server(&mut s);
    // 160 bytes hold four 35-byte frames (each plus a 4-byte length), not five.
    let mut queued = 0;
    while s.event(b, Body::from_raw("1")).is_ok() {
        queued += 1;
        assert!(queued < 10);
    }
    assert_eq!(queued, 4);
    assert_eq!(
        s.event(b, Body::from_raw("1")),
        Err(CallError::Queue(QueueError::Full {
            bound: Bound::Bytes
        }))
    );
}

#[test]
fn after_a_graceful_close_commands_are_still_delivered_and_the_rest_refused() {
    let mut s = server();
    let _link = open_link(&mut s, LINK_INFO);
    s.close_with(Close::GoingAway);
    assert!(!s.is_open());
    // A command the client wrote before it saw the close still reaches the application.
    assert!(matches!(
        s.handle_frame("@command(node:\"/unit/1\",lane:add) 1"),
        Ok(Some(ServerRequest::Command { .. }))
    ));
    // Anything that would need an answer, or is not an envelope, is refused as closed.
    assert_eq!(s.handle_frame(SYNC_INFO), Err(HandleError::Closed));
    assert_eq!(s.handle_frame("@nonsense("), Err(HandleError::Closed));
    assert_eq!(s.handle_binary_frame(4), HandleError::Closed);
    // The close still goes out, once, and commands keep being taken after it.
    let out = drain_server(&mut s);
    assert_eq!(out.last(), Some(&Out::Close(1001)), "{out:?}");
    assert!(matches!(
        s.handle_frame("@command(node:\"/unit/1\",lane:add) 2"),
        Ok(Some(ServerRequest::Command { .. }))
    ));
}

#[test]
fn after_a_close_for_a_fault_nothing_more_is_taken() {
    let mut s = ServerConnection::new(Config::default().with_max_protocol_errors(0));
    assert!(s.handle_frame("@nonsense(").is_err());
    assert!(!s.is_open());
    assert_eq!(
        s.handle_frame("@command(node:\"/unit/1\",lane:add) 1"),
        Err(HandleError::Closed)
    );
}
