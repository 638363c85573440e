// A WebSocket peer built on the `ws` package (an implementation independent of ours), for the
// WebSocket-layer interop tests of conformance/tests/ws_node.rs. It reports what `ws` observes,
// one JSON object per line, and does scripted things on request, including frames that break
// RFC 6455 (crafted with `ws`'s own send options; only a frame announcing a huge payload needs
// raw bytes written on the socket).
//
// Usage:
//   node ws-peer.mjs server [--max-payload N]
//     A `ws` WebSocketServer on 127.0.0.1, a free port. It accepts the `warp0` subprotocol when
//     offered (nothing otherwise) and does not offer permessage-deflate. It prints
//     `listening 127.0.0.1:PORT` once ready, then the events below for each connection. A text
//     message starting with `!` is a command; any other message is echoed (text as text,
//     binary as binary). Commands:
//       !fragments A|B|C     sends one text message as fragments A, B, C (`send` with
//                            `fin: false` for all but the last); a ping "mid" goes between
//                            the first and second fragment
//       !ping DATA           sends a ping with DATA
//       !close CODE REASON   starts the close handshake with CODE and REASON (may be empty);
//                            with neither, a close frame without a code
//       !big N               sends a text message of N times "x"
//       !rawtext HEX         sends a text frame whose payload is the bytes HEX, UTF-8 or
//                            not (`ws` does not check: `send(buffer, {binary: false})`)
//       !rawtext-split H1|H2 sends one text message as two fragments with the bytes H1, H2
//       !masked TEXT         sends a text frame masked, which a server must not (`mask: true`)
//       !raw HEX             writes the bytes HEX straight on the socket (`ws._socket.write`)
//     The server exits when its stdin closes.
//
//   node ws-peer.mjs client URL [--protocol P]... [--max-payload N] STEP...
//     A `ws` client connecting to URL (offering each --protocol given, none without; it offers
//     permessage-deflate, as `ws` does by default). Once open it runs the steps in order:
//       text:STRING          sends a text message
//       fragments:A|B|C      sends one text message as fragments A, B, C, with a ping "mid"
//                            between the first and second fragment
//       ping:DATA            sends a ping
//       rawtext:HEX          sends a text frame with the bytes HEX, UTF-8 or not
//       rawtext-split:H1|H2  sends one text message as two fragments with the bytes H1, H2
//       unmasked:TEXT        sends a text frame unmasked, which a client must not
//       big:N                sends a text message of N times "x"
//       wait:KIND            waits for the next message, ping or pong (KIND) not yet waited for
//       close:CODE:REASON    starts the close handshake (`close:` alone: without a code)
//     After the steps it waits for the connection to close. It exits 0 after printing the close
//     event and `{"ev":"done","steps":K}` (K steps completed), or 3 after `{"ev":"timeout"}` if
//     nothing closes within OVERALL_MS.
//
// Stdout events, one JSON object per line:
//   {"ev":"open","protocol":P,"extensions":E}          connection open (P "" if none)
//   {"ev":"message","binary":B,"text":T,"len":N}        a complete message (T as UTF-8; N bytes)
//   {"ev":"ping","data":D} / {"ev":"pong","data":D}     control frames received
//   {"ev":"error","message":M,"code":C}                 ws reported a protocol error; C is its
//                                                       error code, e.g. WS_ERR_INVALID_UTF8
//   {"ev":"close","code":N,"reason":R}                  the connection closed (N as ws reports
//                                                       it: the peer's code, 1005, 1006)
//   {"ev":"sent","step":S}                              a step was carried out (client)

import { WebSocket, WebSocketServer } from "ws";

const OVERALL_MS = 20000;

function out(record) {
  process.stdout.write(JSON.stringify(record) + "\n");
}

function usage() {
  process.stderr.write(
    "usage: node ws-peer.mjs server [--max-payload N]\n" +
      "       node ws-peer.mjs client URL [--protocol P]... [--max-payload N] STEP...\n",
  );
  process.exit(2);
}

// Splits leading `--name value` options off `args`.
function options(args) {
  const protocols = [];
  let maxPayload = 0;
  let i = 0;
  while (i < args.length && args[i].startsWith("--")) {
    const value = args[i + 1];
    if (value === undefined) usage();
    if (args[i] === "--protocol") protocols.push(value);
    else if (args[i] === "--max-payload") maxPayload = Number(value);
    else usage();
    i += 2;
  }
  return { protocols, maxPayload, rest: args.slice(i) };
}

// Reports what `ws` observes on one connection; `onClose` runs after the close is reported.
function observe(ws, onClose) {
  ws.on("open", () => out({ ev: "open", protocol: ws.protocol, extensions: ws.extensions }));
  ws.on("message", (data, isBinary) => {
    const buffer = Buffer.isBuffer(data) ? data : Buffer.concat(data);
    out({ ev: "message", binary: isBinary, text: buffer.toString("utf8"), len: buffer.length });
  });
  ws.on("ping", (data) => out({ ev: "ping", data: data.toString("utf8") }));
  ws.on("pong", (data) => out({ ev: "pong", data: data.toString("utf8") }));
  ws.on("error", (err) => out({ ev: "error", message: err.message, code: err.code ?? null }));
  ws.on("close", (code, reason) => {
    out({ ev: "close", code, reason: reason.toString("utf8") });
    onClose();
  });
}

// Sends `pieces` as one text message in fragments (`fin: false` on all but the last), calling
// `between` (if any) after the first.
function sendFragments(ws, pieces, between) {
  pieces.forEach((piece, i) => {
    const last = i === pieces.length - 1;
    ws.send(piece, { binary: false, fin: last });
    if (i === 0 && between) between();
  });
}

// "H1|H2|..." as buffers.
function hexPieces(arg) {
  return arg.split("|").map((hex) => Buffer.from(hex, "hex"));
}

function runServer(args) {
  const { maxPayload, rest } = options(args);
  if (rest.length !== 0) usage();
  const server = new WebSocketServer({
    host: "127.0.0.1",
    port: 0,
    perMessageDeflate: false,
    maxPayload: maxPayload > 0 ? maxPayload : undefined,
    handleProtocols: (protocols) => (protocols.has("warp0") ? "warp0" : false),
  });
  server.on("listening", () => {
    const { address, port } = server.address();
    process.stdout.write(`listening ${address}:${port}\n`);
  });
  server.on("connection", (ws) => {
    out({ ev: "open", protocol: ws.protocol, extensions: ws.extensions });
    observe(ws, () => {});
    ws.on("message", (data, isBinary) => {
      const buffer = Buffer.isBuffer(data) ? data : Buffer.concat(data);
      const text = buffer.toString("utf8");
      if (isBinary || !text.startsWith("!")) {
        ws.send(buffer, { binary: isBinary });
        return;
      }
      const space = text.indexOf(" ");
      const command = space < 0 ? text : text.slice(0, space);
      const arg = space < 0 ? "" : text.slice(space + 1);
      switch (command) {
        case "!fragments":
          sendFragments(ws, arg.split("|"), () => ws.ping("mid"));
          break;
        case "!ping":
          ws.ping(arg);
          break;
        case "!close": {
          if (arg === "") {
            ws.close();
            break;
          }
          const at = arg.indexOf(" ");
          const code = Number(at < 0 ? arg : arg.slice(0, at));
          ws.close(code, at < 0 ? "" : arg.slice(at + 1));
          break;
        }
        case "!big":
          ws.send("x".repeat(Number(arg)));
          break;
        case "!rawtext":
          ws.send(Buffer.from(arg, "hex"), { binary: false });
          break;
        case "!rawtext-split":
          sendFragments(ws, hexPieces(arg), null);
          break;
        case "!masked":
          ws.send(arg, { mask: true });
          break;
        case "!raw":
          ws._socket.write(Buffer.from(arg, "hex"));
          break;
        default:
          out({ ev: "unknown-command", command });
      }
    });
  });
  server.on("error", (err) => {
    process.stderr.write(`server error: ${err.message}\n`);
    process.exit(1);
  });
  // Never outlive the test that started this server.
  process.stdin.on("end", () => process.exit(0));
  process.stdin.on("error", () => process.exit(0));
  process.stdin.resume();
}

// Arrivals of messages, pings and pongs, each claimed once by a `wait:KIND` step.
function arrivals() {
  const unclaimed = { message: 0, ping: 0, pong: 0 };
  const waiting = { message: [], ping: [], pong: [] };
  return {
    arrive(kind) {
      const resolve = waiting[kind].shift();
      if (resolve) resolve();
      else unclaimed[kind] += 1;
    },
    wait(kind) {
      if (!(kind in unclaimed)) throw new Error(`cannot wait for ${kind}`);
      return new Promise((resolve) => {
        if (unclaimed[kind] > 0) {
          unclaimed[kind] -= 1;
          resolve();
        } else {
          waiting[kind].push(resolve);
        }
      });
    },
  };
}

async function runStep(ws, step, events) {
  const colon = step.indexOf(":");
  if (colon < 0) throw new Error(`bad step ${step}`);
  const kind = step.slice(0, colon);
  const arg = step.slice(colon + 1);
  switch (kind) {
    case "text":
      ws.send(arg);
      break;
    case "fragments":
      sendFragments(ws, arg.split("|"), () => ws.ping("mid"));
      break;
    case "ping":
      ws.ping(arg);
      break;
    case "rawtext":
      ws.send(Buffer.from(arg, "hex"), { binary: false });
      break;
    case "rawtext-split":
      sendFragments(ws, hexPieces(arg), null);
      break;
    case "unmasked":
      ws.send(arg, { mask: false });
      break;
    case "big":
      ws.send("x".repeat(Number(arg)));
      break;
    case "wait":
      await events.wait(arg);
      break;
    case "close": {
      if (arg === "") {
        ws.close();
        break;
      }
      const at = arg.indexOf(":");
      const code = Number(at < 0 ? arg : arg.slice(0, at));
      ws.close(code, at < 0 ? "" : arg.slice(at + 1));
      break;
    }
    default:
      throw new Error(`bad step ${step}`);
  }
  out({ ev: "sent", step });
}

function runClient(args) {
  const [url, ...more] = args;
  if (!url) usage();
  const { protocols, maxPayload, rest: steps } = options(more);
  const timer = setTimeout(() => {
    out({ ev: "timeout" });
    process.exit(3);
  }, OVERALL_MS);
  let completed = 0;
  const ws = new WebSocket(url, protocols, {
    maxPayload: maxPayload > 0 ? maxPayload : undefined,
  });
  const events = arrivals();
  ws.on("message", () => events.arrive("message"));
  ws.on("ping", () => events.arrive("ping"));
  ws.on("pong", () => events.arrive("pong"));
  observe(ws, () => {
    out({ ev: "done", steps: completed });
    clearTimeout(timer);
  });
  ws.on("open", async () => {
    try {
      for (const step of steps) {
        if (ws.readyState !== WebSocket.OPEN) break;
        await runStep(ws, step, events);
        completed += 1;
      }
    } catch (err) {
      process.stderr.write(`${err.stack}\n`);
      process.exit(1);
    }
  });
}

const [mode, ...args] = process.argv.slice(2);
if (mode === "server") runServer(args);
else if (mode === "client") runClient(args);
else usage();
