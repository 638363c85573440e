// Differential-test harness: parses Recon with the reference JavaScript parser (@swim/recon).
//
// Protocol, one line each way: each input line is the base64 (standard, padded) of the UTF-8
// Recon text; each output line is one JSON object, either {"ok": VALUE} or {"error": "..."},
// where VALUE is in the shape of the conformance vector files:
//   {"record": [ITEM, ...]}   ITEM = {"attr": [name, VALUE]} | {"slot": [VALUE, VALUE]} | VALUE
//   {"text": "..."}  {"bool": true}  {"data": "<base64>"}  {"extant": null}  {"absent": null}
//   {"int": "<exact decimal>"} for an integer-valued number (JS numbers are doubles),
//   {"float": "<String(n)>"} otherwise ("-0.0" for negative zero, "NaN", "Infinity", ...).
// Anything else the parser produces (expressions, selectors) is reported as an error.

import { createInterface } from "node:readline";
import { Recon } from "@swim/recon";
import { Absent, Attr, Bool, Data, Extant, Num, Record, Slot, Text } from "@swim/structure";

function number(n) {
  if (Object.is(n, -0)) {
    return { float: "-0.0" };
  }
  if (Number.isInteger(n)) {
    return { int: BigInt(n).toString() };
  }
  return { float: String(n) };
}

function value(v) {
  if (v instanceof Record) {
    const items = [];
    v.forEach((item) => {
      items.push(item_(item));
    });
    return { record: items };
  }
  if (v instanceof Text) {
    return { text: v.value };
  }
  if (v instanceof Num) {
    return number(v.value);
  }
  if (v instanceof Bool) {
    return { bool: v.value };
  }
  if (v instanceof Data) {
    const bytes = v.toUint8Array().subarray(0, v.size);
    return { data: Buffer.from(bytes).toString("base64") };
  }
  if (v instanceof Extant) {
    return { extant: null };
  }
  if (v instanceof Absent) {
    return { absent: null };
  }
  throw new Error(`not a data value: ${v && v.constructor ? v.constructor.name : typeof v}`);
}

function item_(item) {
  if (item instanceof Attr) {
    return { attr: [item.key.value, value(item.value)] };
  }
  if (item instanceof Slot) {
    return { slot: [value(item.key), value(item.value)] };
  }
  return value(item);
}

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of lines) {
  let out;
  try {
    const text = Buffer.from(line, "base64").toString("utf8");
    out = { ok: value(Recon.parse(text)) };
  } catch (e) {
    out = { error: String(e && e.message ? e.message : e) };
  }
  process.stdout.write(JSON.stringify(out) + "\n");
}
