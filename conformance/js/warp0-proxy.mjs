// A loopback WebSocket proxy that lets @swim/client reach a server that insists on the `warp0`
// subprotocol (the SwimOS server refuses an upgrade without it, and @swim/client offers none).
//
// Usage: node warp0-proxy.mjs ws://127.0.0.1:UPSTREAM_PORT
//
// It listens on 127.0.0.1 (a free port), accepts upgrades with or without subprotocols (it
// answers `warp0` when offered, nothing otherwise) and opens one upstream connection per client,
// offering `warp0`. Frames are forwarded verbatim both ways (text stays text, binary stays
// binary); frames the client sends before the upstream connection is open are queued. A close
// on either side is passed on with its code when that code may be sent, otherwise the other
// side is dropped.
//
// Stdout, one line each:
//   listening 127.0.0.1:PORT                            once, when ready
//   {"conn":N,"t_ms":T,"dir":"c2s"|"s2c","text":"..."}  a text frame (in the trace format of
//   {"conn":N,"t_ms":T,"dir":"c2s"|"s2c","bin":"<b64>"} conformance/traces, plus `conn`)
//   {"conn":N,"t_ms":T,"dir":"c2s"|"s2c","close":CODE}  a close (1005 when no code, 1006 when
//                                                       the connection dropped)
//   {"conn":N,"t_ms":T,"open":true,"protocol":"..."}    a client connected (its subprotocol)
//   {"conn":N,"t_ms":T,"error":"...","side":"..."}      a socket error
// Each line is written before the frame is forwarded. The proxy exits when its stdin closes
// (so it never outlives the test that started it) or on SIGTERM/SIGINT.

import { WebSocket, WebSocketServer } from "ws";

const upstream = process.argv[2];
if (!upstream || !/^wss?:\/\//.test(upstream)) {
  process.stderr.write("usage: node warp0-proxy.mjs ws://HOST:PORT\n");
  process.exit(2);
}

const started = Date.now();
let connections = 0;

function log(record) {
  process.stdout.write(JSON.stringify({ ...record, t_ms: Date.now() - started }) + "\n");
}

function frameRecord(conn, dir, data, isBinary) {
  const buffer = Buffer.isBuffer(data) ? data : Buffer.concat(Array.isArray(data) ? data : [Buffer.from(data)]);
  return isBinary
    ? { conn, dir, bin: buffer.toString("base64") }
    : { conn, dir, text: buffer.toString("utf8") };
}

// The close codes the ws package lets an endpoint send (RFC 6455 7.4).
function sendable(code) {
  return (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) ||
    (code >= 3000 && code <= 4999);
}

function passClose(socket, code, reason) {
  if (socket.readyState === WebSocket.CLOSING || socket.readyState === WebSocket.CLOSED) {
    return;
  }
  if (socket.readyState === WebSocket.CONNECTING) {
    socket.terminate();
  } else if (sendable(code)) {
    socket.close(code, reason);
  } else {
    socket.terminate();
  }
}

const server = new WebSocketServer({
  host: "127.0.0.1",
  port: 0,
  handleProtocols: (protocols) => (protocols.has("warp0") ? "warp0" : false),
});

server.on("connection", (client) => {
  connections += 1;
  const conn = connections;
  log({ conn, open: true, protocol: client.protocol });
  const up = new WebSocket(upstream, "warp0");
  const queued = [];

  client.on("message", (data, isBinary) => {
    log(frameRecord(conn, "c2s", data, isBinary));
    if (up.readyState === WebSocket.OPEN) {
      up.send(data, { binary: isBinary });
    } else {
      queued.push([data, isBinary]);
    }
  });
  up.on("open", () => {
    for (const [data, isBinary] of queued.splice(0)) {
      up.send(data, { binary: isBinary });
    }
  });
  up.on("message", (data, isBinary) => {
    log(frameRecord(conn, "s2c", data, isBinary));
    if (client.readyState === WebSocket.OPEN) {
      client.send(data, { binary: isBinary });
    }
  });
  client.on("close", (code, reason) => {
    log({ conn, dir: "c2s", close: code });
    passClose(up, code, reason);
  });
  up.on("close", (code, reason) => {
    log({ conn, dir: "s2c", close: code });
    passClose(client, code, reason);
  });
  client.on("error", (error) => {
    log({ conn, error: String(error?.message ?? error), side: "client" });
    up.terminate();
  });
  up.on("error", (error) => {
    log({ conn, error: String(error?.message ?? error), side: "upstream" });
    client.terminate();
  });
});

server.on("listening", () => {
  const { address, port } = server.address();
  process.stdout.write(`listening ${address}:${port}\n`);
});

server.on("error", (error) => {
  process.stderr.write(`warp0-proxy: ${error?.message ?? error}\n`);
  process.exit(1);
});

process.stdin.on("end", () => process.exit(0));
process.stdin.on("error", () => process.exit(0));
process.stdin.resume();
for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => process.exit(0));
}
