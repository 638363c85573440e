// Interop scenarios run by the official JavaScript WARP client (@swim/client 4.0.0) against a
// server whose agents at /unit/:id have the lanes of peers/swimos-server (value lanes `info`
// (text) and `count` (integer), map lane `history` (integer → integer), command lanes `set_info`,
// `add` and `remove`).
//
// Usage: node client-scenarios.mjs HOST_URI SCENARIO [NODE]
//   HOST_URI  warp://127.0.0.1:PORT
//   SCENARIO  value-sync | map-sync | count | two-downlinks | unlink | node-not-found |
//             lane-not-found
//   NODE      the agent to use, default /unit/1 (node-not-found uses /nowhere/1 instead)
//
// Stdout: one JSON object per line, in the order things happened:
//   {"act":"open","dl":NAME,...} / {"act":"close","dl":NAME} / {"act":"command",...}
//                                           what the scenario did
//   {"dl":NAME,"cb":CALLBACK,...}           what a downlink reported: didLink, didSync,
//                                           didUnlink, didClose, didFail ("error"),
//                                           didSet ("value"), didUpdate ("key", "value"),
//                                           didRemove ("key"), onEvent ("body")
//   {"done":true}                           last line of a run that went to the end (exit 0)
//   {"error":"..."}                         last line of a failed run (exit 1)
// Values are written as JSON: text as a string, numbers as numbers, booleans as booleans,
// Absent as {"absent":true}, Extant as {"extant":true}, anything else as {"recon":"<text>"}.
//
// A scenario waits for each observation it needs (at most STEP_MS each); the whole run is
// bounded by SCENARIO_TIMEOUT_MS (environment, default 15000). Where the client's reaction is
// what is being recorded (unlink, not-found), the scenario watches for a fixed window and
// reports whatever happened.

import { WarpClient } from "@swim/client";
import { Recon } from "@swim/recon";
import { Absent, Bool, Extant, Num, Text, Value } from "@swim/structure";

const STEP_MS = 5000;
const WATCH_MS = 1000;
// After the last downlink closes: time for the client's unlink and the server's unlinked.
const SETTLE_MS = 500;
const OVERALL_MS = Number(process.env.SCENARIO_TIMEOUT_MS ?? 15000);

const [hostUri, scenario, nodeArg] = process.argv.slice(2);
const node = nodeArg ?? "/unit/1";

const observations = [];
const waiters = new Set();

function finish(code, record) {
  process.stdout.write(JSON.stringify(record) + "\n", () => process.exit(code));
}

function emit(record) {
  observations.push(record);
  process.stdout.write(JSON.stringify(record) + "\n");
  for (const waiter of waiters) {
    if (waiter.test(record)) {
      waiters.delete(waiter);
      waiter.resolve(record);
    }
  }
}

// The JSON form of a @swim/structure value (see the header).
function json(value) {
  if (!(value instanceof Value)) {
    return value === undefined ? { absent: true } : value;
  }
  if (value instanceof Text) {
    return value.stringValue();
  }
  if (value instanceof Num) {
    return value.numberValue();
  }
  if (value instanceof Bool) {
    return value.booleanValue();
  }
  if (value instanceof Absent) {
    return { absent: true };
  }
  if (value instanceof Extant) {
    return { extant: true };
  }
  return { recon: Recon.toString(value) };
}

// The index the next observation will get: wait from here for what an action causes.
function mark() {
  return observations.length;
}

// Resolves with the first observation from index `from` on that satisfies `test`; fails the
// run after STEP_MS.
function waitFor(what, test, from) {
  const seen = observations.slice(from).find(test);
  if (seen) {
    return Promise.resolve(seen);
  }
  return new Promise((resolve, reject) => {
    const waiter = { test, resolve };
    waiters.add(waiter);
    setTimeout(() => {
      if (waiters.delete(waiter)) {
        reject(new Error(`no ${what} within ${STEP_MS} ms`));
      }
    }, STEP_MS);
  });
}

// Waits `ms` and returns the observations made meanwhile.
async function watch(ms, from) {
  await new Promise((resolve) => setTimeout(resolve, ms));
  return observations.slice(from);
}

const is = (dl, cb, extra = {}) => (o) =>
  o.dl === dl && o.cb === cb &&
  Object.entries(extra).every(([k, v]) => JSON.stringify(o[k]) === JSON.stringify(v));

function linkCallbacks(name) {
  return {
    didLink() { emit({ dl: name, cb: "didLink" }); },
    didSync() { emit({ dl: name, cb: "didSync" }); },
    didUnlink() { emit({ dl: name, cb: "didUnlink" }); },
    didClose() { emit({ dl: name, cb: "didClose" }); },
    didFail(error) { emit({ dl: name, cb: "didFail", error: String(error?.message ?? error) }); },
  };
}

const client = new WarpClient();

function openValue(name, nodeUri, laneUri, syncs) {
  emit({ act: "open", dl: name, kind: "value", node: nodeUri, lane: laneUri, syncs });
  return client.downlinkValue({
    hostUri, nodeUri, laneUri, syncs,
    ...linkCallbacks(name),
    didSet(newValue) { emit({ dl: name, cb: "didSet", value: json(newValue) }); },
  }).open();
}

function openMap(name, nodeUri, laneUri) {
  emit({ act: "open", dl: name, kind: "map", node: nodeUri, lane: laneUri, syncs: true });
  return client.downlinkMap({
    hostUri, nodeUri, laneUri, syncs: true,
    ...linkCallbacks(name),
    didUpdate(key, newValue) {
      emit({ dl: name, cb: "didUpdate", key: json(key), value: json(newValue) });
    },
    didRemove(key) { emit({ dl: name, cb: "didRemove", key: json(key) }); },
  }).open();
}

function close(name, downlink) {
  emit({ act: "close", dl: name });
  downlink.close();
}

// Closes the last open downlink and waits SETTLE_MS, reporting what happens meanwhile.
async function closeLast(name, downlink) {
  close(name, downlink);
  await watch(SETTLE_MS, mark());
}

function command(laneUri, body, nodeUri = node) {
  emit({ act: "command", node: nodeUri, lane: laneUri, body });
  client.command(hostUri, nodeUri, laneUri, body);
}

// Opens a synced value downlink and waits for its link, first value and sync.
async function openSynced(name, laneUri) {
  const m = mark();
  const downlink = openValue(name, node, laneUri, true);
  await waitFor(`${name} didLink`, is(name, "didLink"), m);
  await waitFor(`${name} didSync`, is(name, "didSync"), m);
  return downlink;
}

const scenarios = {
  // Sync on `info`, then a command changes it and the downlink sees the new value.
  async "value-sync"() {
    const info = await openSynced("info", "info");
    const m = mark();
    command("set_info", "hello");
    await waitFor("didSet hello", is("info", "didSet", { value: "hello" }), m);
    await closeLast("info", info);
  },

  // Two adds, then a synced map downlink on `history` sees both entries (during or after its
  // sync: the server may answer the sync before it has run the second command); then a remove.
  async "map-sync"() {
    command("add", 5);
    command("add", 3);
    const m = mark();
    const history = openMap("history", node, "history");
    await waitFor("history didSync", is("history", "didSync"), m);
    await waitFor("entry 5 -> 5", is("history", "didUpdate", { key: 5, value: 5 }), m);
    await waitFor("entry 8 -> 3", is("history", "didUpdate", { key: 8, value: 3 }), m);
    const r = mark();
    command("remove", 5);
    await waitFor("didRemove 5", is("history", "didRemove", { key: 5 }), r);
    await closeLast("history", history);
  },

  // Sync on `count`, add 2, see 2.
  async count() {
    const count = await openSynced("count", "count");
    const m = mark();
    command("add", 2);
    await waitFor("didSet 2", is("count", "didSet", { value: 2 }), m);
    await closeLast("count", count);
  },

  // Two downlinks on one lane: both see events; after one closes the other still does.
  async "two-downlinks"() {
    const a = await openSynced("a", "info");
    const b = await openSynced("b", "info");
    let m = mark();
    command("set_info", "one");
    await waitFor("a didSet one", is("a", "didSet", { value: "one" }), m);
    await waitFor("b didSet one", is("b", "didSet", { value: "one" }), m);
    close("a", a);
    m = mark();
    command("set_info", "two");
    await waitFor("b didSet two", is("b", "didSet", { value: "two" }), m);
    // Give a stray event for `a` time to show up before closing the last view.
    await watch(200, m);
    await closeLast("b", b);
  },

  // Link without sync, then close: record what the downlink reports while unlinking.
  async unlink() {
    const m = mark();
    const info = openValue("info", node, "info", false);
    await waitFor("info didLink", is("info", "didLink"), m);
    await closeLast("info", info);
  },

  // A node the server does not have: record what the client reports within a window.
  async "node-not-found"() {
    const missing = openValue("missing", "/nowhere/1", "info", true);
    await watch(WATCH_MS, 0);
    await closeLast("missing", missing);
  },

  // A lane the node does not have: record what the client reports within a window.
  async "lane-not-found"() {
    const missing = openValue("missing", node, "nolane", true);
    await watch(WATCH_MS, 0);
    await closeLast("missing", missing);
  },
};

const run = scenarios[scenario];
if (!hostUri || !run) {
  process.stderr.write(
    `usage: node client-scenarios.mjs HOST_URI SCENARIO [NODE]; scenarios: ${Object.keys(scenarios).join(", ")}\n`,
  );
  process.exit(2);
}

setTimeout(() => finish(1, { error: `scenario ${scenario} did not finish within ${OVERALL_MS} ms` }), OVERALL_MS);
run().then(
  () => finish(0, { done: true }),
  (error) => finish(1, { error: String(error?.message ?? error) }),
);
