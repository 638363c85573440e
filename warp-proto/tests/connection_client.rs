//! The client machine against WARP.md section 3.2 and PROFILE.md "Link lifecycle (client
//! side)", one behaviour per test.

mod common;

use common::{drain_client, texts, Out};
use warp_proto::connection::{
    Bound, CallError, ClientConnection, ClientEvent, Close, Config, Fixed, HandleError, HandleId,
    HandleState, LinkId, LinkState, ProtocolErrorKind, QueueError, UnlinkReason,
};
use warp_proto::envelope::Body;

const LINK_INFO: &str = "@link(node:\"/unit/1\",lane:info)";
const SYNC_INFO: &str = "@sync(node:\"/unit/1\",lane:info)";
const UNLINK_INFO: &str = "@unlink(node:\"/unit/1\",lane:info)";
const LINKED_INFO: &str = "@linked(node:\"/unit/1\",lane:info)";
const SYNCED_INFO: &str = "@synced(node:\"/unit/1\",lane:info)";
const EVENT_INFO: &str = "@event(node:\"/unit/1\",lane:info)\"hi\"";
const UNLINKED_INFO: &str = "@unlinked(node:\"/unit/1\",lane:info)\"Link closed.\"";

fn client() -> ClientConnection {
    ClientConnection::new(Config::default())
}

fn handles(c: &ClientConnection, link: LinkId) -> Vec<HandleId> {
    c.handles(link).collect()
}

/// A client with one linked handle on /unit/1 info.
fn linked() -> (ClientConnection, HandleId, LinkId) {
    let mut c = client();
    let h = c.link("/unit/1", "info").unwrap();
    assert_eq!(texts(&drain_client(&mut c)), [LINK_INFO]);
    let Ok(Some(ClientEvent::Linked { link })) = c.handle_frame(LINKED_INFO) else {
        panic!()
    };
    (c, h, link)
}

#[test]
fn link_sends_link_and_linked_reaches_the_handle() {
    let (c, h, link) = linked();
    assert_eq!(c.handle_link(h), Some(link));
    assert_eq!(handles(&c, link), [h]);
    assert_eq!(c.link_state(link), Some(LinkState::Linked));
    assert_eq!(c.link_node(link), Some("/unit/1"));
    assert_eq!(c.link_lane(link), Some("info"));
}

#[test]
fn sync_sends_sync_and_state_then_synced_reach_the_handle() {
    let mut c = client();
    let h = c.sync("/unit/1", "info").unwrap();
    assert_eq!(texts(&drain_client(&mut c)), [SYNC_INFO]);
    let link = c.handle_link(h).unwrap();
    assert_eq!(c.link_state(link), Some(LinkState::Opening));
    assert_eq!(
        c.handle_frame(LINKED_INFO),
        Ok(Some(ClientEvent::Linked { link }))
    );
    assert_eq!(c.link_state(link), Some(LinkState::Syncing));
    match c.handle_frame(EVENT_INFO) {
        Ok(Some(ClientEvent::Event { link: l, body })) => {
            assert_eq!(l, link);
            assert_eq!(body.raw(), "\"hi\"");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        c.handle_frame(SYNCED_INFO),
        Ok(Some(ClientEvent::Synced { link }))
    );
    assert_eq!(c.link_state(link), Some(LinkState::Linked));
}

#[test]
fn handles_on_one_lane_share_one_link_and_one_sync_on_the_wire() {
    let mut c = client();
    let a = c.sync("/unit/7", "info").unwrap();
    let b = c.sync("/unit/7", "info").unwrap();
    assert_eq!(
        texts(&drain_client(&mut c)),
        ["@sync(node:\"/unit/7\",lane:info)"],
        "the second handle joins the sync already on its way"
    );
    let link = c.handle_link(a).unwrap();
    assert_eq!(c.handle_link(b), Some(link));
    assert_eq!(c.link_count(), 1);
    assert_eq!(c.handle_count(), 2);
    c.handle_frame("@linked(node:\"/unit/7\",lane:info)")
        .unwrap();
    let ev = c
        .handle_frame("@event(node:\"/unit/7\",lane:info) shared")
        .unwrap();
    assert!(matches!(ev, Some(ClientEvent::Event { link: l, .. }) if l == link));
    assert_eq!(
        handles(&c, link),
        [a, b],
        "every handle receives every event"
    );
}

#[test]
fn link_handles_share_one_link_message() {
    let mut c = client();
    let a = c.link("/unit/1", "info").unwrap();
    let b = c.link("/unit/1", "info").unwrap();
    assert_ne!(a, b);
    assert_eq!(texts(&drain_client(&mut c)), [LINK_INFO]);
}

#[test]
fn sync_handle_joining_an_open_link_sends_one_more_sync() {
    let (mut c, a, link) = linked();
    let b = c.sync("/unit/1", "info").unwrap();
    assert_eq!(texts(&drain_client(&mut c)), [SYNC_INFO]);
    assert_eq!(c.link_state(link), Some(LinkState::Syncing));
    assert!(matches!(
        c.handle_frame(EVENT_INFO),
        Ok(Some(ClientEvent::Event { .. }))
    ));
    assert_eq!(
        c.handle_frame(SYNCED_INFO),
        Ok(Some(ClientEvent::Synced { link }))
    );
    assert_eq!(handles(&c, link), [a, b]);
    assert_eq!(c.link_state(link), Some(LinkState::Linked));
}

#[test]
fn sync_handle_joining_a_link_still_opening_sends_sync_once_linked() {
    let mut c = client();
    let a = c.link("/unit/1", "info").unwrap();
    c.sync("/unit/1", "info").unwrap();
    c.sync("/unit/1", "info").unwrap();
    assert_eq!(
        texts(&drain_client(&mut c)),
        [LINK_INFO],
        "one request at a time while opening"
    );
    let link = c.handle_link(a).unwrap();
    assert_eq!(
        c.handle_frame(LINKED_INFO),
        Ok(Some(ClientEvent::Linked { link }))
    );
    assert_eq!(texts(&drain_client(&mut c)), [SYNC_INFO]);
    assert_eq!(c.link_state(link), Some(LinkState::Syncing));
}

#[test]
fn sync_handle_joining_a_sync_on_its_way_sends_nothing_more() {
    let mut c = client();
    c.sync("/unit/1", "info").unwrap();
    c.sync("/unit/1", "info").unwrap();
    c.handle_frame(LINKED_INFO).unwrap();
    assert_eq!(texts(&drain_client(&mut c)), [SYNC_INFO]);
}

#[test]
fn rejection_of_an_opening_link_leaves_no_request_behind() {
    let mut c = client();
    let a = c.link("/nowhere", "info").unwrap();
    let b = c.sync("/nowhere", "info").unwrap();
    assert_eq!(
        texts(&drain_client(&mut c)),
        ["@link(node:\"/nowhere\",lane:info)"]
    );
    assert!(matches!(
        c.handle_frame("@unlinked(node:\"/nowhere\",lane:info)@nodeNotFound"),
        Ok(Some(ClientEvent::Unlinked {
            reason: UnlinkReason::NodeNotFound,
            ..
        }))
    ));
    assert_eq!(
        drain_client(&mut c),
        [],
        "no sync is sent for a refused link"
    );
    assert_eq!(c.handle_state(a), Some(HandleState::Unlinked));
    assert_eq!(c.handle_state(b), Some(HandleState::Unlinked));
}

#[test]
fn linked_for_a_lane_without_link_is_answered_with_unlink() {
    let mut c = client();
    assert_eq!(c.handle_frame(LINKED_INFO), Ok(None));
    assert_eq!(texts(&drain_client(&mut c)), [UNLINK_INFO]);
    assert_eq!(c.stats().dropped_envelopes, 1);
    assert_eq!(c.link_count(), 0);
}

#[test]
fn last_handle_closing_sends_unlink_once() {
    let (mut c, a, link) = linked();
    let b = c.link("/unit/1", "info").unwrap();
    assert_eq!(drain_client(&mut c), []);
    c.close_handle(a).unwrap();
    assert_eq!(drain_client(&mut c), [], "one handle still uses the link");
    c.close_handle(b).unwrap();
    assert_eq!(texts(&drain_client(&mut c)), [UNLINK_INFO]);
    assert_eq!(c.link_state(link), Some(LinkState::Unlinking));
    assert_eq!(c.close_handle(b), Err(CallError::UnknownHandle));
    // The server's answer ends the link without troubling the application.
    assert_eq!(c.handle_frame(UNLINKED_INFO), Ok(None));
    assert_eq!(c.link_state(link), None);
    assert_eq!(c.link_count(), 0);
    assert_eq!(c.handle_count(), 0);
}

#[test]
fn no_event_reaches_a_handle_after_it_closed() {
    let (mut c, a, link) = linked();
    let b = c.link("/unit/1", "info").unwrap();
    c.close_handle(a).unwrap();
    let Ok(Some(ClientEvent::Event { link: l, .. })) = c.handle_frame(EVENT_INFO) else {
        panic!()
    };
    assert_eq!(l, link);
    assert_eq!(handles(&c, link), [b], "the closed handle is not listed");
    c.close_handle(b).unwrap();
    drain_client(&mut c);
    // Events still in flight after the unlink are dropped and counted.
    assert_eq!(c.handle_frame(EVENT_INFO), Ok(None));
    assert_eq!(c.handle_frame(SYNCED_INFO), Ok(None));
    assert_eq!(c.handle_frame(LINKED_INFO), Ok(None));
    assert_eq!(c.stats().dropped_envelopes, 3);
    assert_eq!(handles(&c, link), []);
}

#[test]
fn envelopes_for_unknown_node_and_lane_are_dropped_and_counted() {
    let (mut c, _h, _link) = linked();
    assert_eq!(
        c.handle_frame("@event(node:\"/unit/2\",lane:info) 1"),
        Ok(None)
    );
    assert_eq!(
        c.handle_frame("@linked(node:\"/unit/1\",lane:other)"),
        Ok(None)
    );
    assert_eq!(
        c.handle_frame("@unlinked(node:\"/unit/9\",lane:info)@nodeNotFound"),
        Ok(None)
    );
    assert_eq!(c.stats().dropped_envelopes, 3);
    assert_eq!(
        texts(&drain_client(&mut c)),
        ["@unlink(node:\"/unit/1\",lane:other)"],
        "only the stray linked is answered"
    );
}

#[test]
fn unlinked_node_not_found_reaches_every_handle_as_a_typed_reason() {
    let mut c = client();
    let a = c.sync("/nowhere/1", "info").unwrap();
    let b = c.link("/nowhere/1", "info").unwrap();
    let link = c.handle_link(a).unwrap();
    drain_client(&mut c);
    match c.handle_frame("@unlinked(node:\"/nowhere/1\",lane:info)@nodeNotFound") {
        Ok(Some(ClientEvent::Unlinked {
            link: l,
            node,
            lane,
            reason,
        })) => {
            assert_eq!(l, link);
            assert!(node == "/nowhere/1" && lane == "info");
            assert_eq!(reason, UnlinkReason::NodeNotFound);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(handles(&c, link), [a, b]);
    assert_eq!(c.handle_state(a), Some(HandleState::Unlinked));
    assert_eq!(c.link_state(link), None);
    assert_eq!(drain_client(&mut c), [], "nothing is sent back");
}

#[test]
fn unlinked_lane_not_found_is_a_typed_reason() {
    let mut c = client();
    c.sync("/unit/8", "nolane").unwrap();
    let ev = c
        .handle_frame("@unlinked(node:\"/unit/8\",lane:nolane)@laneNotFound")
        .unwrap();
    assert!(matches!(
        ev,
        Some(ClientEvent::Unlinked {
            reason: UnlinkReason::LaneNotFound,
            ..
        })
    ));
}

#[test]
fn unlinked_with_another_body_keeps_the_body() {
    let (mut c, _h, _link) = linked();
    match c.handle_frame(UNLINKED_INFO) {
        Ok(Some(ClientEvent::Unlinked {
            reason: UnlinkReason::Other(body),
            ..
        })) => assert_eq!(body.raw(), "\"Link closed.\""),
        other => panic!("{other:?}"),
    }
}

#[test]
fn unlinked_handles_are_freed_by_close_without_sending_unlink() {
    let (mut c, h, link) = linked();
    c.handle_frame("@unlinked(node:\"/unit/1\",lane:info)")
        .unwrap();
    assert_eq!(c.handle_frame(EVENT_INFO), Ok(None), "the link is gone");
    c.close_handle(h).unwrap();
    assert_eq!(drain_client(&mut c), []);
    assert_eq!(handles(&c, link), []);
    assert_eq!(c.handle_count(), 0);
    // Opening the lane again makes a new link.
    let h2 = c.link("/unit/1", "info").unwrap();
    assert_ne!(c.handle_link(h2), Some(link));
    assert_eq!(texts(&drain_client(&mut c)), [LINK_INFO]);
}

#[test]
fn handle_opened_while_unlinking_reopens_the_link_after_unlinked() {
    let (mut c, a, link) = linked();
    c.close_handle(a).unwrap();
    assert_eq!(texts(&drain_client(&mut c)), [UNLINK_INFO]);
    let b = c.sync("/unit/1", "info").unwrap();
    assert_eq!(drain_client(&mut c), [], "waits for the unlinked");
    assert_eq!(c.handle_link(b), Some(link));
    assert_eq!(
        c.handle_frame(EVENT_INFO),
        Ok(None),
        "old link's events dropped"
    );
    assert_eq!(c.handle_frame(UNLINKED_INFO), Ok(None));
    assert_eq!(texts(&drain_client(&mut c)), [SYNC_INFO]);
    assert_eq!(c.link_state(link), Some(LinkState::Opening));
    assert_eq!(
        c.handle_frame(LINKED_INFO),
        Ok(Some(ClientEvent::Linked { link }))
    );
    assert_eq!(handles(&c, link), [b]);
}

#[test]
fn handle_opened_and_closed_while_unlinking_does_not_reopen() {
    let (mut c, a, _link) = linked();
    c.close_handle(a).unwrap();
    drain_client(&mut c);
    let b = c.link("/unit/1", "info").unwrap();
    c.close_handle(b).unwrap();
    assert_eq!(drain_client(&mut c), []);
    assert_eq!(c.handle_frame(UNLINKED_INFO), Ok(None));
    assert_eq!(drain_client(&mut c), []);
    assert_eq!(c.link_count(), 0);
}

#[test]
fn closing_before_linked_sends_unlink_and_absorbs_the_late_answers() {
    let mut c = client();
    let h = c.sync("/unit/1", "info").unwrap();
    c.close_handle(h).unwrap();
    assert_eq!(texts(&drain_client(&mut c)), [SYNC_INFO, UNLINK_INFO]);
    for frame in [LINKED_INFO, EVENT_INFO, SYNCED_INFO] {
        assert_eq!(c.handle_frame(frame), Ok(None), "{frame}");
    }
    assert_eq!(c.handle_frame(UNLINKED_INFO), Ok(None));
    assert_eq!(c.link_count(), 0);
}

#[test]
fn command_is_sent_without_a_link() {
    let mut c = client();
    c.command("/unit/1", "set_info", Body::from_raw("\"hello world\""))
        .unwrap();
    assert_eq!(
        texts(&drain_client(&mut c)),
        ["@command(node:\"/unit/1\",lane:set_info)\"hello world\""]
    );
    assert_eq!(c.link_count(), 0);
}

#[test]
fn node_uris_with_spaces_are_percent_encoded_on_the_wire() {
    let mut c = client();
    c.link("/a b", "info").unwrap();
    assert_eq!(
        texts(&drain_client(&mut c)),
        ["@link(node:\"/a%20b\",lane:info)"]
    );
}

#[test]
fn auth_and_deauth_are_sent_and_their_answers_reported() {
    let mut c = client();
    c.auth(Body::from_raw("{token:abc}")).unwrap();
    c.deauth().unwrap();
    assert_eq!(
        texts(&drain_client(&mut c)),
        ["@auth{token:abc}", "@deauth"]
    );
    assert!(matches!(
        c.handle_frame("@authed"),
        Ok(Some(ClientEvent::Authed { .. }))
    ));
    assert!(matches!(
        c.handle_frame("@deauthed"),
        Ok(Some(ClientEvent::Deauthed { .. }))
    ));
}

#[test]
fn envelopes_only_clients_send_are_protocol_errors_from_a_server() {
    let mut c = client();
    for frame in [
        LINK_INFO,
        SYNC_INFO,
        UNLINK_INFO,
        "@command(node:a,lane:b) 1",
        "@auth",
    ] {
        assert!(
            matches!(
                c.handle_frame(frame),
                Err(HandleError::Protocol(e)) if matches!(e.kind, ProtocolErrorKind::Unexpected(_))
            ),
            "{frame}"
        );
    }
    assert_eq!(c.stats().protocol_errors, 5);
}

#[test]
fn invalid_frames_are_protocol_errors_then_close_with_1002() {
    let mut c = ClientConnection::new(Config::default().with_max_protocol_errors(1));
    assert!(matches!(
        c.handle_frame("@event(node:a"),
        Err(HandleError::Protocol(e)) if e.close.is_none()
    ));
    assert!(matches!(
        c.handle_frame("nonsense"),
        Err(HandleError::Protocol(e)) if e.close == Some(Close::ProtocolError)
    ));
    assert_eq!(drain_client(&mut c), [Out::Close(1002)]);
    assert_eq!(c.link("/a", "b"), Err(CallError::Closed));
}

#[test]
fn bounds_refuse_links_handles_and_uris_with_typed_errors() {
    let mut c = ClientConnection::new(
        Config::default()
            .with_max_links(1)
            .with_max_handles(2)
            .with_max_uri_len(8),
    );
    let a = c.link("/unit/1", "info").unwrap();
    assert_eq!(c.link("/unit/2", "info"), Err(CallError::TooManyLinks));
    c.link("/unit/1", "info").unwrap();
    assert_eq!(c.link("/unit/1", "info"), Err(CallError::TooManyHandles));
    assert_eq!(c.link("/unit/123", "info"), Err(CallError::UriTooLong));
    assert_eq!(c.link("", "info"), Err(CallError::EmptyUri));
    assert_eq!(
        c.command("/unit/1", "", Body::absent()),
        Err(CallError::EmptyUri)
    );
    assert_eq!(texts(&drain_client(&mut c)), [LINK_INFO]);
    assert_eq!(c.link_count(), 1);
    assert_eq!(c.handle_count(), 2);
    let _ = a;
}

#[test]
fn full_queue_is_backpressure_and_changes_nothing() {
    let mut c = ClientConnection::new(Config::default().with_max_queued_frames(1));
    let a = c.link("/unit/1", "info").unwrap();
    assert_eq!(
        c.link("/unit/2", "info"),
        Err(CallError::Queue(QueueError::Full {
            bound: Bound::Frames
        }))
    );
    assert_eq!(c.link_count(), 1, "the refused link is not in the table");
    assert_eq!(c.handle_count(), 1);
    drain_client(&mut c);
    c.handle_frame(LINKED_INFO).unwrap();
    c.command("/unit/1", "set_info", Body::from_raw("x"))
        .unwrap();
    // The unlink does not fit: the handle stays open.
    assert_eq!(
        c.close_handle(a),
        Err(CallError::Queue(QueueError::Full {
            bound: Bound::Frames
        }))
    );
    assert_eq!(c.handle_state(a), Some(HandleState::Open));
    drain_client(&mut c);
    c.close_handle(a).unwrap();
    assert_eq!(texts(&drain_client(&mut c)), [UNLINK_INFO]);
}

#[test]
fn reopen_after_unlinked_is_backpressure_when_the_queue_is_full() {
    let mut c = ClientConnection::new(Config::default().with_max_queued_frames(1));
    let a = c.link("/unit/1", "info").unwrap();
    drain_client(&mut c);
    c.handle_frame(LINKED_INFO).unwrap();
    c.close_handle(a).unwrap();
    drain_client(&mut c);
    let b = c.link("/unit/1", "info").unwrap();
    c.command("/x", "y", Body::absent()).unwrap();
    assert_eq!(
        c.handle_frame(UNLINKED_INFO),
        Err(HandleError::Backpressure(Bound::Frames))
    );
    drain_client(&mut c);
    assert_eq!(c.handle_frame(UNLINKED_INFO), Ok(None));
    assert_eq!(texts(&drain_client(&mut c)), [LINK_INFO]);
    assert_eq!(c.handle_state(b), Some(HandleState::Open));
}

#[test]
fn stale_handle_id_is_refused() {
    let (mut c, a, _) = linked();
    c.close_handle(a).unwrap();
    c.handle_frame(UNLINKED_INFO).unwrap();
    let b = c.link("/unit/1", "info").unwrap();
    assert_eq!(a.index(), b.index());
    assert_eq!(c.close_handle(a), Err(CallError::UnknownHandle));
    assert_eq!(c.handle_state(b), Some(HandleState::Open));
}

#[test]
fn closing_handles_after_the_connection_closed_sends_nothing() {
    let (mut c, a, link) = linked();
    c.close();
    assert_eq!(drain_client(&mut c), [Out::Close(1000)]);
    c.close_handle(a).unwrap();
    assert_eq!(drain_client(&mut c), []);
    assert_eq!(c.link_state(link), None);
    assert_eq!(c.handle_frame(EVENT_INFO), Err(HandleError::Closed));
}

#[test]
fn fixed_storage_client_runs_in_its_capacity() {
    let mut c = ClientConnection::<Fixed<2, 3, 16, 128>>::with_storage(Config::default());
    let a = c.sync("/unit/1", "info").unwrap();
    let b = c.sync("/unit/1", "info").unwrap();
    let _c2 = c.link("/unit/2", "info").unwrap();
    assert_eq!(c.link("/unit/3", "info"), Err(CallError::TooManyLinks));
    assert_eq!(c.link("/unit/2", "info"), Err(CallError::TooManyHandles));
    assert_eq!(
        c.link("/a-node-longer-than-16", "info"),
        Err(CallError::UriTooLong)
    );
    let mut out = Vec::new();
    while let Some(t) = c.poll_transmit() {
        out.push(format!("{t:?}"));
    }
    assert_eq!(out.len(), 2);
    let link = c.handle_link(a).unwrap();
    c.handle_frame(LINKED_INFO).unwrap();
    c.handle_frame(EVENT_INFO).unwrap();
    assert_eq!(c.handles(link).collect::<Vec<_>>(), [a, b]);
}
