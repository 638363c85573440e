//! Lanes turn changes into exactly the event bodies SwimOS sends (WARP.md §3.1, traces
//! `value_sync`, `map_sync`) and command bodies into changes; typed lanes refuse what does not
//! fit; map lanes are bounded; a failing command changes nothing.

use warp_proto::app::{
    body_text, Agent, AgentContext, AgentLogic, CommandError, CommandLane, EventBody, LaneError,
    LaneKind, MapLane, MapMessage, NoLogic, Plane, PlaneConfig, Published, ValueLane, ValueType,
};
use warp_proto::envelope::{Body, Envelope};
use warp_proto::recon::{Item, Value};
use warp_proto::ws::Instant;

const NODE: &str = "/thing/1";
const NOW: Instant = Instant::ZERO;

/// Logic for the test agent: `fail` sets `text` then refuses; `double` doubles `num`.
struct TestLogic;

impl AgentLogic for TestLogic {
    fn on_command(
        &mut self,
        lane: &str,
        value: &Value,
        ctx: &mut AgentContext<'_>,
    ) -> Result<(), LaneError> {
        assert_eq!(ctx.node(), NODE);
        match lane {
            "fail" => {
                ctx.set_value("text", "changed")?;
                ctx.map_update("map", 100, 100)?;
                ctx.map_remove("map", 1)?;
                ctx.map_clear("map")?;
                Err(LaneError::Refused("always"))
            }
            "double" => {
                let n = ctx.value("num").and_then(Value::as_i64).unwrap_or(0);
                ctx.set_value("num", n * 2)?;
                assert_eq!(ctx.events().len(), 2); // the echo and the set
                let _ = value;
                Ok(())
            }
            "misuse" => ctx.set_value("map", 1),
            _ => Ok(()),
        }
    }
}

fn plane() -> Plane {
    let mut plane = Plane::new(PlaneConfig::default());
    plane
        .route("/thing/:id", |_| {
            Some(
                Agent::new(TestLogic)
                    .with_lane("text", ValueLane::text(""))
                    .with_lane("num", ValueLane::int(0))
                    .with_lane("flag", ValueLane::bool(false))
                    .with_lane("any", ValueLane::any())
                    .with_lane(
                        "ratio",
                        ValueLane::new(ValueType::Float, Value::Float(0.5)).unwrap(),
                    )
                    .with_lane("map", MapLane::new(ValueType::Int, ValueType::Int))
                    .with_lane(
                        "small",
                        MapLane::new(ValueType::Any, ValueType::Any).with_max_entries(2),
                    )
                    .with_lane("ping", CommandLane::any())
                    .with_lane("fail", CommandLane::any())
                    .with_lane("double", CommandLane::any())
                    .with_lane("misuse", CommandLane::any()),
            )
        })
        .unwrap();
    plane
}

/// The (lane, body text) pairs of a change.
fn texts(p: &Published) -> Vec<(String, String)> {
    p.events()
        .iter()
        .map(|e| (e.lane.clone(), e.body.text().to_owned()))
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

fn cmd(plane: &mut Plane, lane: &str, body: &str) -> Result<Published, CommandError> {
    plane.command_body(NODE, lane, Body::from_raw(body), NOW)
}

fn sync_texts(plane: &mut Plane, lane: &str) -> Vec<String> {
    plane
        .sync(NODE, lane)
        .unwrap()
        .bodies()
        .iter()
        .map(|b| b.text().to_owned())
        .collect()
}

/// Writes `body` in an event envelope, reads it back and returns the body value.
fn through_the_wire(body: &EventBody) -> Value {
    let frame = Envelope::event(NODE, "lane", body.as_body()).to_string();
    Envelope::decode(&frame)
        .unwrap_or_else(|e| panic!("{frame}: {e}"))
        .body
        .to_value()
        .unwrap()
}

#[test]
fn value_lane_sync_replays_the_initial_value_as_one_event() {
    let mut plane = plane();
    assert_eq!(sync_texts(&mut plane, "text"), ["\"\""]);
    assert_eq!(sync_texts(&mut plane, "num"), ["0"]);
    assert_eq!(sync_texts(&mut plane, "flag"), ["false"]);
    assert_eq!(sync_texts(&mut plane, "any"), [""]); // Absent: an event with no body
    assert_eq!(sync_texts(&mut plane, "ratio"), ["0.5"]);
    assert!(sync_texts(&mut plane, "ping").is_empty()); // command lane: only `synced`
    assert!(sync_texts(&mut plane, "map").is_empty());
}

#[test]
fn a_command_to_a_value_lane_sets_it_with_one_event() {
    let mut plane = plane();
    let p = cmd(&mut plane, "text", "\"hello world\"").unwrap();
    assert_eq!(texts(&p), pairs(&[("text", "\"hello world\"")]));
    // Setting the same value again still publishes an event, as SwimOS.
    let p = cmd(&mut plane, "text", "\"hello world\"").unwrap();
    assert_eq!(p.events().len(), 1);
    assert_eq!(sync_texts(&mut plane, "text"), ["\"hello world\""]);
    // An identifier is text; it is written bare.
    assert_eq!(
        texts(&cmd(&mut plane, "text", "shared").unwrap()),
        pairs(&[("text", "shared")])
    );
    // A float lane takes an integer as a float.
    assert_eq!(
        texts(&cmd(&mut plane, "ratio", "2").unwrap()),
        pairs(&[("ratio", "2.0")])
    );
    // A lane of any value takes a record.
    let p = cmd(&mut plane, "any", "{a:1,b:{1,2},c:\"x y\"}").unwrap();
    assert_eq!(texts(&p), pairs(&[("any", "{a:1,b:{1,2},c:\"x y\"}")]));
}

#[test]
fn typed_lanes_drop_what_does_not_fit_and_change_nothing() {
    let mut plane = plane();
    let cases = [
        ("text", "{a:1,b:{1,2},c:\"x y\"}", ValueType::Text), // trace event_downlink
        ("text", "1", ValueType::Text),
        ("text", "true", ValueType::Text),
        ("num", "1.5", ValueType::Int),
        ("num", "\"1\"", ValueType::Int),
        ("num", "18446744073709551615", ValueType::Int),
        ("flag", "1", ValueType::Bool),
        ("ratio", "x", ValueType::Float),
    ];
    for (lane, body, expected) in cases {
        let err = cmd(&mut plane, lane, body).unwrap_err();
        assert_eq!(
            err,
            CommandError::Lane(LaneError::TypeMismatch { expected }),
            "{lane} {body}"
        );
    }
    assert_eq!(sync_texts(&mut plane, "text"), ["\"\""]);
    assert_eq!(sync_texts(&mut plane, "num"), ["0"]);
    assert_eq!(plane.seq(), 0);
    assert!(matches!(
        cmd(&mut plane, "text", "{"),
        Err(CommandError::BadBody(_))
    ));
    assert_eq!(
        cmd(&mut plane, "nolane", "1"),
        Err(CommandError::LaneNotFound)
    );
}

#[test]
fn map_lane_events_are_update_and_remove_exactly_as_swimos_prints_them() {
    let mut plane = plane();
    // As in trace map_sync: `@update(key:6) 3`, `@remove(key:1)` (no value).
    let p = cmd(&mut plane, "map", "@update(key:6) 3").unwrap();
    assert_eq!(texts(&p), pairs(&[("map", "@update(key:6) 3")]));
    let p = cmd(&mut plane, "map", "@update(key:1) 1").unwrap();
    assert_eq!(texts(&p), pairs(&[("map", "@update(key:1) 1")]));
    let p = cmd(&mut plane, "map", "@remove(key:1)").unwrap();
    assert_eq!(texts(&p), pairs(&[("map", "@remove(key:1)")]));
    // Removing a key that is not there publishes nothing (SwimOS's map storage does the same).
    let p = cmd(&mut plane, "map", "@remove(key:1)").unwrap();
    assert!(p.is_empty());
    let p = cmd(&mut plane, "map", "@clear").unwrap();
    assert_eq!(texts(&p), pairs(&[("map", "@clear")]));
    assert!(sync_texts(&mut plane, "map").is_empty());
}

#[test]
fn map_lane_sync_replays_every_entry_in_key_order() {
    let mut plane = plane();
    for (k, v) in [(10, 4), (1, 1), (3, 2), (6, 3), (-2, 0)] {
        plane
            .modify(NODE, NOW, |ctx| ctx.map_update("map", k, v))
            .unwrap();
    }
    assert_eq!(
        sync_texts(&mut plane, "map"),
        [
            "@update(key:-2) 0",
            "@update(key:1) 1",
            "@update(key:3) 2",
            "@update(key:6) 3",
            "@update(key:10) 4",
        ]
    );
    let agent = plane.agent(NODE).unwrap();
    let map = agent.lane("map").unwrap().as_map().unwrap();
    assert_eq!(map.len(), 5);
    assert_eq!(map.get(&Value::Int(6)), Some(&Value::Int(3)));
    let keys: Vec<i64> = map.iter().filter_map(|(k, _)| k.as_i64()).collect();
    assert_eq!(keys, [-2, 1, 3, 6, 10]);
}

#[test]
fn map_keys_of_any_kind_order_totally_and_stay_distinct() {
    let mut plane = plane();
    let keys = [
        Value::text("b"),
        Value::Float(1.0),
        Value::Int(1),
        Value::text("a"),
        Value::Bool(true),
        Value::UInt(u64::MAX),
        Value::Float(-0.5),
        Value::parse("{x:1}").unwrap(),
    ];
    for (i, k) in keys.iter().enumerate() {
        plane
            .modify(NODE, NOW, |ctx| {
                ctx.apply_map("small", MapMessage::update(k.clone(), i as i64))
            })
            .map(|_| ())
            .or_else(|e| match e {
                CommandError::Lane(LaneError::MapFull { max: 2 }) => Ok(()),
                e => Err(e),
            })
            .unwrap();
    }
    // `small` holds 2 entries at most: the first two keys.
    let map_len = |plane: &Plane| {
        plane
            .agent(NODE)
            .unwrap()
            .lane("small")
            .unwrap()
            .as_map()
            .unwrap()
            .len()
    };
    assert_eq!(map_len(&plane), 2);

    // An unbounded any→any map keeps every key, in the documented order.
    let mut plane = Plane::new(PlaneConfig::default());
    plane
        .route("/thing/:id", |_| {
            Some(Agent::new(NoLogic).with_lane("m", MapLane::new(ValueType::Any, ValueType::Any)))
        })
        .unwrap();
    for (i, k) in keys.iter().enumerate() {
        plane
            .modify(NODE, NOW, |ctx| ctx.map_update("m", k.clone(), i as i64))
            .unwrap();
    }
    let agent = plane.agent(NODE).unwrap();
    let order: Vec<String> = agent
        .lane("m")
        .unwrap()
        .as_map()
        .unwrap()
        .iter()
        .map(|(k, _)| k.to_recon_string().unwrap())
        .collect();
    assert_eq!(
        order,
        [
            "true",
            "-0.5",
            "1",
            "1.0",
            "18446744073709551615",
            "a",
            "b",
            "{x:1}"
        ]
    );
}

#[test]
fn map_commands_take_drop_and_bad_messages() {
    let mut plane = plane();
    for k in 1..=5 {
        cmd(&mut plane, "map", &format!("@update(key:{k}) {k}")).unwrap();
    }
    // take 3 keeps the first three keys, one `@remove` per other key.
    let p = cmd(&mut plane, "map", "@take(3)").unwrap();
    assert_eq!(
        texts(&p),
        pairs(&[("map", "@remove(key:4)"), ("map", "@remove(key:5)")])
    );
    // drop 1 removes the first key.
    let p = cmd(&mut plane, "map", "@drop(1)").unwrap();
    assert_eq!(texts(&p), pairs(&[("map", "@remove(key:1)")]));
    assert_eq!(
        sync_texts(&mut plane, "map"),
        ["@update(key:2) 2", "@update(key:3) 3"]
    );
    for bad in [
        "5",
        "@update(5) 1",
        "@upsert(key:1) 1",
        "@remove(key:1) 2",
        "@take(-1)",
        "@clear 1",
        "{key:1}",
    ] {
        assert_eq!(
            cmd(&mut plane, "map", bad).unwrap_err(),
            CommandError::Lane(LaneError::BadMapMessage),
            "{bad}"
        );
    }
    // Typed keys and values.
    for bad in [
        "@update(key:x) 1",
        "@update(key:1) x",
        "@update(key:1)",
        "@remove(key:x)",
    ] {
        assert!(
            matches!(
                cmd(&mut plane, "map", bad),
                Err(CommandError::Lane(LaneError::TypeMismatch { .. }))
            ),
            "{bad}"
        );
    }
}

#[test]
fn map_lane_bound_refuses_new_keys_but_not_updates() {
    let mut plane = plane();
    cmd(&mut plane, "small", "@update(key:a) 1").unwrap();
    cmd(&mut plane, "small", "@update(key:b) 2").unwrap();
    assert_eq!(
        cmd(&mut plane, "small", "@update(key:c) 3").unwrap_err(),
        CommandError::Lane(LaneError::MapFull { max: 2 })
    );
    let p = cmd(&mut plane, "small", "@update(key:a) 10").unwrap();
    assert_eq!(texts(&p), pairs(&[("small", "@update(key:a) 10")]));
    cmd(&mut plane, "small", "@remove(key:b)").unwrap();
    cmd(&mut plane, "small", "@update(key:c) 3").unwrap();
}

#[test]
fn command_lanes_echo_each_command() {
    let mut plane = plane();
    let p = cmd(&mut plane, "ping", "@hello{x:1}").unwrap();
    assert_eq!(texts(&p), pairs(&[("ping", "@hello{x:1}")]));
    let p = cmd(&mut plane, "ping", "").unwrap();
    assert_eq!(texts(&p), pairs(&[("ping", "")]));
    plane
        .modify(NODE, NOW, |ctx| ctx.set_value("num", 21))
        .unwrap();
    let p = cmd(&mut plane, "double", "0").unwrap();
    assert_eq!(texts(&p), pairs(&[("double", "0"), ("num", "42")]));
}

#[test]
fn a_failing_command_rolls_back_every_change_and_publishes_nothing() {
    let mut plane = plane();
    for k in 1..=3 {
        cmd(&mut plane, "map", &format!("@update(key:{k}) {k}")).unwrap();
    }
    let seq = plane.seq();
    let before_map = sync_texts(&mut plane, "map");
    assert_eq!(
        cmd(&mut plane, "fail", "1").unwrap_err(),
        CommandError::Lane(LaneError::Refused("always"))
    );
    assert_eq!(sync_texts(&mut plane, "map"), before_map);
    assert_eq!(sync_texts(&mut plane, "text"), ["\"\""]);
    assert_eq!(plane.seq(), seq);
    // Misusing a lane of another kind is a typed error.
    assert_eq!(
        cmd(&mut plane, "misuse", "1").unwrap_err(),
        CommandError::Lane(LaneError::WrongKind {
            expected: LaneKind::Value,
            found: LaneKind::Map
        })
    );
    let e = plane
        .modify(NODE, NOW, |ctx| ctx.map_update("text", 1, 1))
        .unwrap_err();
    assert_eq!(
        e,
        CommandError::Lane(LaneError::WrongKind {
            expected: LaneKind::Map,
            found: LaneKind::Value
        })
    );
    let e = plane
        .modify(NODE, NOW, |ctx| ctx.set_value("nope", 1))
        .unwrap_err();
    assert_eq!(e, CommandError::Lane(LaneError::NoSuchLane));
}

#[test]
fn values_with_no_recon_text_are_refused() {
    let mut plane = plane();
    let e = plane
        .modify(NODE, NOW, |ctx| {
            ctx.set_value("any", Value::Float(f64::INFINITY))
        })
        .unwrap_err();
    assert_eq!(e, CommandError::Lane(LaneError::Unprintable));
    let e = plane
        .modify(NODE, NOW, |ctx| ctx.set_value("ratio", f64::NAN))
        .unwrap_err();
    assert_eq!(e, CommandError::Lane(LaneError::Unprintable));
    assert!(ValueLane::new(ValueType::Any, Value::Float(f64::NAN)).is_err());
    assert!(EventBody::new(Value::Float(f64::NEG_INFINITY)).is_err());
    assert_eq!(sync_texts(&mut plane, "any"), [""]);
}

#[test]
fn every_event_body_reads_back_as_its_value_through_an_envelope() {
    let values = [
        Value::Int(3),
        Value::text("two words"),
        Value::text("true"),
        Value::text(""),
        Value::Bool(true),
        Value::Float(21.5),
        Value::Data(vec![1, 2, 3]),
        Value::parse("{a:1,b:2}").unwrap(),
        Value::Record(vec![Item::value(1)]),
        Value::parse("{1,2,3}").unwrap(),
        Value::parse("@point{x:1,y:2}").unwrap(),
        Value::parse("@update(key:k){temp:21.5}").unwrap(),
        Value::Absent,
    ];
    for v in &values {
        let body = EventBody::new(v.clone()).unwrap();
        assert_eq!(&through_the_wire(&body), v, "{v:?} as {:?}", body.text());
        assert_eq!(body_text(v).unwrap(), body.text());
        for key in [
            Value::Int(6),
            Value::text("k"),
            Value::parse("{a:1}").unwrap(),
        ] {
            let msg = MapMessage::update(key.clone(), v.clone());
            let event = EventBody::new(msg.to_value()).unwrap();
            let back = through_the_wire(&event);
            assert_eq!(
                MapMessage::from_value(back),
                Some(msg.clone()),
                "{:?}",
                event.text()
            );
            let msg = MapMessage::remove(key);
            let back = through_the_wire(&EventBody::new(msg.to_value()).unwrap());
            assert_eq!(MapMessage::from_value(back), Some(msg));
        }
    }
    for msg in [MapMessage::Clear, MapMessage::Take(2), MapMessage::Drop(0)] {
        let back = through_the_wire(&EventBody::new(msg.to_value()).unwrap());
        assert_eq!(MapMessage::from_value(back), Some(msg));
    }
    assert_eq!(
        body_text(&Value::Record(vec![Item::value(1)])).unwrap(),
        "{{1}}"
    );
    assert_eq!(body_text(&Value::Extant).unwrap(), "");
}
