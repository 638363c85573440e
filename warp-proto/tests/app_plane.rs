//! The plane's bounds and refusals, and `Uplinks` under backpressure: sync replays and
//! published events reach each link in a consistent order, never twice, never stale.

mod common;

use common::{drain_server, texts};
use warp_proto::app::{
    demo::UnitAgent, Agent, CommandError, Handled, LinkError, NoLogic, Plane, PlaneConfig,
    Published, Pump, UplinkError, Uplinks, ValueLane,
};
use warp_proto::connection::{
    CallError, Config, LinkState, Rejection, ServerConnection, ServerRequest,
};
use warp_proto::envelope::Body;
use warp_proto::recon::Value;
use warp_proto::ws::Instant;

const NOW: Instant = Instant::ZERO;

fn demo_plane(max_agents: usize) -> Plane {
    let mut plane = Plane::new(PlaneConfig::default().with_max_agents(max_agents));
    UnitAgent::route(&mut plane).unwrap();
    plane
}

fn handle<'f>(
    plane: &mut Plane,
    conn: &mut ServerConnection,
    uplinks: &mut Uplinks,
    frame: &'f str,
) -> Result<Handled<'f>, UplinkError> {
    let request = conn.handle_frame(frame).unwrap().expect("a request");
    uplinks.handle(plane, conn, request, NOW)
}

/// Pumps and drains until idle; returns the frames written.
fn flush(conn: &mut ServerConnection, uplinks: &mut Uplinks) -> Vec<String> {
    let mut out = Vec::new();
    for _ in 0..10_000 {
        let state = uplinks.pump(conn).unwrap();
        out.extend(texts(&drain_server(conn)));
        if state == Pump::Idle {
            return out;
        }
    }
    panic!("pump never went idle");
}

#[test]
fn agents_are_bounded_and_the_bound_is_a_typed_error() {
    let mut plane = demo_plane(2);
    assert_eq!(
        plane.open("/unit/1", "info"),
        Ok(warp_proto::app::LaneKind::Value)
    );
    plane.command("/unit/2", "add", Value::Int(1), NOW).unwrap();
    assert_eq!(plane.agent_count(), 2);
    let full = LinkError::TooManyAgents { max: 2 };
    assert_eq!(plane.open("/unit/3", "info"), Err(full));
    assert_eq!(plane.sync("/unit/3", "info").unwrap_err(), full);
    assert_eq!(full.rejection(), Rejection::NodeNotFound);
    assert_eq!(
        plane.command("/unit/3", "add", Value::Int(1), NOW),
        Err(CommandError::TooManyAgents { max: 2 })
    );
    // Running agents still work, and unknown nodes are still unknown.
    assert!(plane.open("/unit/1", "count").is_ok());
    assert_eq!(plane.open("/nowhere", "info"), Err(LinkError::NodeNotFound));
    // Stopping one makes room; its state is gone.
    assert!(plane.stop_agent("/unit/2").is_some());
    assert!(plane.stop_agent("/unit/2").is_none());
    assert!(plane.open("/unit/3", "info").is_ok());
    assert_eq!(plane.nodes().collect::<Vec<_>>(), ["/unit/1", "/unit/3"]);

    // Through a connection: the refusal is `@unlinked(...)@nodeNotFound`, never a close.
    let mut conn = ServerConnection::new(Config::default());
    let mut uplinks = Uplinks::default();
    let handled = handle(
        &mut plane,
        &mut conn,
        &mut uplinks,
        "@sync(node:\"/unit/4\",lane:info)",
    );
    assert_eq!(handled, Ok(Handled::Rejected(full)));
    assert_eq!(
        flush(&mut conn, &mut uplinks),
        ["@unlinked(node:\"/unit/4\",lane:info)@nodeNotFound"]
    );
}

#[test]
fn failed_links_and_commands_start_no_agent() {
    let mut plane = demo_plane(10);
    assert_eq!(
        plane.open("/unit/1", "nolane"),
        Err(LinkError::LaneNotFound)
    );
    assert_eq!(
        plane.sync("/unit/1", "nolane"),
        Err(LinkError::LaneNotFound)
    );
    assert_eq!(
        plane.command("/unit/1", "nolane", Value::Int(1), NOW),
        Err(CommandError::LaneNotFound)
    );
    assert!(plane
        .command("/unit/1", "set_info", Value::Int(1), NOW)
        .is_err());
    assert_eq!(plane.agent_count(), 0);
    // A command that changes nothing still starts the agent (as SwimOS, where any command to
    // a node starts it).
    let p = plane
        .command("/unit/1", "remove", Value::Int(1), NOW)
        .unwrap();
    assert_eq!(p.events().len(), 1); // only the echo on the command lane
    assert_eq!(plane.agent_count(), 1);
    assert_eq!(plane.seq(), 1);
}

#[test]
fn a_factory_may_refuse_a_node() {
    let mut plane = Plane::new(PlaneConfig::default());
    plane
        .route("/sensor/:id", |params| {
            let id: u32 = params.get("id")?.parse().ok()?;
            Some(Agent::new(NoLogic).with_lane("id", ValueLane::int(i64::from(id))))
        })
        .unwrap();
    assert_eq!(plane.open("/sensor/x", "id"), Err(LinkError::NodeNotFound));
    let state = plane.sync("/sensor/7", "id").unwrap();
    assert_eq!(state.bodies()[0].text(), "7");
    assert!(plane.route("/sensor/:other", |_| None).is_err());
    assert!(format!("{plane:?}").contains("/sensor/:id"));
}

#[test]
fn commands_and_auth_pass_through_uplinks() {
    let mut plane = demo_plane(10);
    let mut conn = ServerConnection::new(Config::default());
    let mut uplinks = Uplinks::default();
    let h = handle(
        &mut plane,
        &mut conn,
        &mut uplinks,
        "@command(node:\"/nowhere\",lane:add) 1",
    );
    assert_eq!(h, Ok(Handled::CommandDropped(CommandError::NodeNotFound)));
    let h = handle(
        &mut plane,
        &mut conn,
        &mut uplinks,
        "@command(node:\"/unit/1\",lane:add) 1",
    );
    assert!(matches!(h, Ok(Handled::Publish(p)) if p.seq() == 1 && p.node() == "/unit/1"));
    let h = handle(&mut plane, &mut conn, &mut uplinks, "@auth{token:abc}");
    assert!(matches!(h, Ok(Handled::Auth(body)) if body.raw() == "{token:abc}"));
    assert!(flush(&mut conn, &mut uplinks).is_empty());
}

#[test]
fn sync_under_backpressure_then_newer_events_in_order_never_stale_ones() {
    let mut plane = demo_plane(10);
    // Ten entries in history: totals 1, 3, 6, …, 55.
    let mut stale: Option<Published> = None;
    for n in 1..=10 {
        let p = plane.command("/unit/1", "add", Value::Int(n), NOW).unwrap();
        stale = Some(p);
    }
    // A connection whose outbound queue holds 3 frames.
    let mut conn = ServerConnection::new(Config::default().with_max_queued_frames(3));
    let mut uplinks = Uplinks::default();
    assert_eq!(
        handle(
            &mut plane,
            &mut conn,
            &mut uplinks,
            "@sync(node:\"/unit/1\",lane:history)"
        ),
        Ok(Handled::Done)
    );
    assert_eq!(uplinks.pump(&mut conn), Ok(Pump::Blocked));
    let mut out = texts(&drain_server(&mut conn));
    assert_eq!(out.len(), 3);

    // Meanwhile another connection adds 100: published after the sync's state was taken.
    let fresh = plane
        .command("/unit/1", "add", Value::Int(100), NOW)
        .unwrap();
    uplinks.deliver(fresh).unwrap();
    // And a change older than the state arrives late (a slow broadcast): it must be skipped.
    uplinks.deliver(stale.take().unwrap()).unwrap();
    assert_eq!(uplinks.pending(), 3);

    out.extend(flush(&mut conn, &mut uplinks));
    assert!(uplinks.is_idle());
    let mut expected = vec!["@linked(node:\"/unit/1\",lane:history)".to_owned()];
    let mut total = 0;
    for n in 1..=10 {
        total += n;
        expected.push(format!(
            "@event(node:\"/unit/1\",lane:history)@update(key:{total}) {n}"
        ));
    }
    expected.push("@synced(node:\"/unit/1\",lane:history)".to_owned());
    expected.push("@event(node:\"/unit/1\",lane:history)@update(key:155) 100".to_owned());
    assert_eq!(out, expected);
}

#[test]
fn a_second_sync_replays_the_state_again_without_linked() {
    let mut plane = demo_plane(10);
    let mut conn = ServerConnection::new(Config::default());
    let mut uplinks = Uplinks::default();
    handle(
        &mut plane,
        &mut conn,
        &mut uplinks,
        "@link(node:\"/unit/1\",lane:count)",
    )
    .unwrap();
    let p = plane.command("/unit/1", "add", Value::Int(2), NOW).unwrap();
    uplinks.deliver(p).unwrap();
    assert_eq!(
        flush(&mut conn, &mut uplinks),
        [
            "@linked(node:\"/unit/1\",lane:count)",
            "@event(node:\"/unit/1\",lane:count) 2"
        ]
    );
    let request = conn
        .handle_frame("@sync(node:\"/unit/1\",lane:count)")
        .unwrap();
    assert!(matches!(request, Some(ServerRequest::Sync { .. })));
    uplinks
        .handle(&mut plane, &mut conn, request.unwrap(), NOW)
        .unwrap();
    assert_eq!(
        flush(&mut conn, &mut uplinks),
        [
            "@event(node:\"/unit/1\",lane:count) 2",
            "@synced(node:\"/unit/1\",lane:count)"
        ]
    );
}

#[test]
fn a_plain_link_gets_only_changes_made_after_it() {
    let mut plane = demo_plane(10);
    let before = plane
        .command("/unit/1", "set_info", Value::text("old"), NOW)
        .unwrap();
    let mut conn = ServerConnection::new(Config::default());
    let mut uplinks = Uplinks::default();
    handle(
        &mut plane,
        &mut conn,
        &mut uplinks,
        "@link(node:\"/unit/1\",lane:info)",
    )
    .unwrap();
    uplinks.deliver(before).unwrap(); // broadcast late
    let after = plane
        .modify("/unit/1", NOW, |ctx| ctx.set_value("info", "new"))
        .unwrap();
    uplinks.deliver(after).unwrap();
    assert_eq!(
        flush(&mut conn, &mut uplinks),
        [
            "@linked(node:\"/unit/1\",lane:info)",
            "@event(node:\"/unit/1\",lane:info) new"
        ]
    );
}

#[test]
fn unlink_during_a_blocked_replay_drops_the_rest_of_it() {
    let mut plane = demo_plane(10);
    for n in 1..=5 {
        plane.command("/unit/1", "add", Value::Int(n), NOW).unwrap();
    }
    let mut conn = ServerConnection::new(Config::default().with_max_queued_frames(2));
    let mut uplinks = Uplinks::default();
    handle(
        &mut plane,
        &mut conn,
        &mut uplinks,
        "@sync(node:\"/unit/1\",lane:history)",
    )
    .unwrap();
    assert_eq!(uplinks.pump(&mut conn), Ok(Pump::Blocked));
    let mut out = texts(&drain_server(&mut conn));
    let h = handle(
        &mut plane,
        &mut conn,
        &mut uplinks,
        "@unlink(node:\"/unit/1\",lane:history)",
    );
    assert_eq!(h, Ok(Handled::Done));
    assert!(uplinks.is_idle());
    out.extend(flush(&mut conn, &mut uplinks));
    assert_eq!(
        out,
        [
            "@linked(node:\"/unit/1\",lane:history)",
            "@event(node:\"/unit/1\",lane:history)@update(key:1) 1",
            "@unlinked(node:\"/unit/1\",lane:history)\"Link closed.\"",
        ]
    );
}

#[test]
fn uplinks_bound_their_queue_and_refuse_with_overloaded() {
    let mut plane = demo_plane(10);
    let mut conn = ServerConnection::new(Config::default());
    let mut uplinks: Uplinks = Uplinks::new(2);
    assert_eq!(uplinks.max_pending(), 2);
    for n in 1..=2 {
        let p = plane.command("/unit/1", "add", Value::Int(n), NOW).unwrap();
        uplinks.deliver(p).unwrap();
    }
    let p = plane.command("/unit/1", "add", Value::Int(3), NOW).unwrap();
    assert_eq!(uplinks.deliver(p), Err(UplinkError::Overloaded { max: 2 }));
    // A link request while full changes nothing: the link stays pending.
    let request = conn
        .handle_frame("@sync(node:\"/unit/1\",lane:info)")
        .unwrap()
        .unwrap();
    let ServerRequest::Link { link, .. } = request else {
        panic!("{request:?}")
    };
    assert_eq!(
        uplinks.handle(&mut plane, &mut conn, request, NOW),
        Err(UplinkError::Overloaded { max: 2 })
    );
    assert_eq!(conn.link_state(link), Some(LinkState::Opening));
    // Empty changes take no room.
    let empty = plane
        .command("/unit/1", "remove", Value::Int(999), NOW)
        .unwrap();
    assert!(empty.events().len() == 1); // the echo only
    assert!(flush(&mut conn, &mut uplinks).is_empty());
    assert!(!UplinkError::Overloaded { max: 2 }.to_string().is_empty());
}

#[test]
fn a_server_side_unlink_forgets_the_link() {
    let mut plane = demo_plane(10);
    let mut conn = ServerConnection::new(Config::default());
    let mut uplinks = Uplinks::default();
    handle(
        &mut plane,
        &mut conn,
        &mut uplinks,
        "@link(node:\"/unit/1\",lane:count)",
    )
    .unwrap();
    let link = conn.find_link("/unit/1", "count").unwrap();
    flush(&mut conn, &mut uplinks);
    uplinks
        .unlink(&mut conn, link, Body::from_raw("@stopped"))
        .unwrap();
    let p = plane.command("/unit/1", "add", Value::Int(1), NOW).unwrap();
    uplinks.deliver(p).unwrap();
    assert_eq!(
        flush(&mut conn, &mut uplinks),
        ["@unlinked(node:\"/unit/1\",lane:count)@stopped"]
    );
    assert_eq!(
        uplinks.unlink(&mut conn, link, Body::absent()),
        Err(CallError::UnknownLink)
    );
}

#[test]
fn a_stopped_agent_restarts_fresh_and_a_sync_on_a_gone_lane_ends_the_link() {
    let mut plane = demo_plane(1);
    let mut conn = ServerConnection::new(Config::default());
    let mut uplinks = Uplinks::default();
    handle(
        &mut plane,
        &mut conn,
        &mut uplinks,
        "@link(node:\"/unit/1\",lane:count)",
    )
    .unwrap();
    plane.command("/unit/1", "add", Value::Int(4), NOW).unwrap();
    plane.stop_agent("/unit/1");
    // /unit/2 takes the only agent slot, so a sync on the open link to /unit/1 cannot
    // restart its agent: the link ends.
    plane.open("/unit/2", "count").unwrap();
    let request = conn
        .handle_frame("@sync(node:\"/unit/1\",lane:count)")
        .unwrap()
        .unwrap();
    let h = uplinks.handle(&mut plane, &mut conn, request, NOW);
    assert_eq!(
        h,
        Ok(Handled::Rejected(LinkError::TooManyAgents { max: 1 }))
    );
    assert_eq!(
        flush(&mut conn, &mut uplinks),
        [
            "@linked(node:\"/unit/1\",lane:count)",
            "@unlinked(node:\"/unit/1\",lane:count)@nodeNotFound",
        ]
    );
    plane.stop_agent("/unit/2");
    assert_eq!(
        plane.sync("/unit/1", "count").unwrap().bodies()[0].text(),
        "0"
    );
}

#[test]
fn plane_and_uplinks_can_be_shared_by_threaded_drivers() {
    fn send<T: Send>() {}
    fn send_sync<T: Send + Sync>() {}
    send::<Plane>();
    send::<std::sync::Mutex<Plane>>();
    send::<Uplinks>();
    send_sync::<Published>();
    send::<Uplinks<std::sync::Arc<Published>>>();

    // Changes shared through `Arc` work the same as owned ones.
    let mut plane = demo_plane(10);
    let mut conn = ServerConnection::new(Config::default());
    let mut uplinks: Uplinks<std::sync::Arc<Published>> = Uplinks::default();
    let request = conn
        .handle_frame("@link(node:\"/unit/1\",lane:info)")
        .unwrap()
        .unwrap();
    uplinks.handle(&mut plane, &mut conn, request, NOW).unwrap();
    let p = plane
        .command("/unit/1", "set_info", Value::text("shared"), NOW)
        .unwrap();
    uplinks.deliver(std::sync::Arc::new(p)).unwrap();
    uplinks.pump(&mut conn).unwrap();
    assert_eq!(
        texts(&drain_server(&mut conn)),
        [
            "@linked(node:\"/unit/1\",lane:info)",
            "@event(node:\"/unit/1\",lane:info) shared"
        ]
    );
}
