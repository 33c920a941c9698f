// Halyard's Signal K server judged by Signal K's own tools (driven by tests/signalk.rs):
//
// 1. discovery and the full model, validated against the specification's JSON schemas
//    (@signalk/signalk-schema `validateFull`, unknown properties refused) and every value's unit
//    against the schema's own unit for its path;
// 2. the WebSocket stream: the hello and every delta validated (`hello.json`, `validateDelta`),
//    then a subscription (`fixed`, 500 ms, one path pattern) that must bring only that pattern,
//    at that pace;
// 3. the reference server (signalk-server) with a Signal K data connection to Halyard's stream:
//    its REST API must give the values Halyard gives, at the same timestamps.
//
// Usage: node check.mjs HALYARD_PORT SIGNALK_SERVER_PORT WORK_DIR
// Prints one JSON line (the stream's battery values, for the MQTT comparison) and exits 0, or
// says what is wrong and exits 1.

import { createRequire } from 'node:module';
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const schema = require('@signalk/signalk-schema');
const WebSocket = require('ws');
const here = dirname(fileURLToPath(import.meta.url));

const [halyardPort, skPort, work] = process.argv.slice(2);
const halyard = `http://127.0.0.1:${halyardPort}`;
const fail = (why) => {
  console.error(`FAIL: ${why}`);
  process.exit(1);
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const get = async (url) => {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return r.json();
};

// --- 1. Discovery and the full model --------------------------------------------------------
const discovery = await get(`${halyard}/signalk`);
const v1 = discovery.endpoints?.v1;
if (!v1 || v1['signalk-http'] !== `${halyard}/signalk/v1/api/` || v1['signalk-ws'] !== `ws://127.0.0.1:${halyardPort}/signalk/v1/stream`)
  fail(`discovery: ${JSON.stringify(discovery)}`);

// The demo's devices all speak within a simulated minute or two (a second or two here).
const must = [
  'electrical.batteries.houseBank.voltage',
  'electrical.batteries.houseBank.capacity.stateOfCharge',
  'electrical.solar.bimini.panelPower',
  'navigation.position',
];
const has = (model, path) => path.split('.').reduce((n, k) => n?.[k], model.vessels[model.self.replace(/^vessels\./, '')])?.value !== undefined;
// Other vessels heard by AIS, each its own context (`vessels.urn:mrn:imo:mmsi:…`).
const ships = (model) => Object.entries(model.vessels).filter(([k, v]) => k.startsWith('urn:mrn:imo:mmsi:') && `vessels.${k}` !== model.self && v.navigation?.position);
let full;
for (let i = 0; i < 60; i++) {
  full = await get(`${halyard}/signalk/v1/api/`);
  if (must.every((p) => has(full, p)) && ships(full).length) break;
  await sleep(500);
}
const verdict = schema.validateFull(full);
if (!verdict.valid) fail(`the full model is not valid Signal K: ${JSON.stringify(verdict.errors.slice(0, 5))}`);
const selfUrn = full.self.replace(/^vessels\./, '');
const vessel = full.vessels[selfUrn];
if (!vessel) fail(`self ${full.self} is not among the vessels`);

// Every leaf's unit is the schema's unit for that path (keyswithmetadata.json).
const units = {};
for (const [key, meta] of Object.entries(schema.metadata)) if (meta.units) units[key] = meta.units;
const unitOf = (path) => {
  for (const [key, u] of Object.entries(units)) {
    const re = new RegExp('^' + key.replace(/\./g, '\\.').replace(/\//g, '\\.').replace(/\*/g, '[^.]+').replace(/RegExp/g, '[^.]+') + '$');
    if (re.test(path)) return u;
  }
  return undefined;
};
const leaves = [];
const walk = (node, path) => {
  if (node && typeof node === 'object' && 'value' in node && 'timestamp' in node) return leaves.push([path, node]);
  if (node && typeof node === 'object') for (const [k, v] of Object.entries(node)) walk(v, path ? `${path}.${k}` : k);
};
walk(vessel, '');
let checkedUnits = 0;
for (const [path, leaf] of leaves) {
  const expected = unitOf(`.vessels.*.${path}`);
  if (expected && typeof leaf.value === 'number') {
    if (leaf.meta?.units !== expected) fail(`${path}: meta units ${leaf.meta?.units}, the specification says ${expected}`);
    checkedUnits++;
  }
}
for (const p of must) if (!leaves.some(([path]) => path === p)) fail(`${p} missing from the full model`);
if (!ships(full).length) fail('no AIS vessel in the full model');
const sub = await get(`${halyard}/signalk/v1/api/vessels/self/electrical/batteries/house-bank/voltage`);
if (typeof sub.value !== 'number' || sub.meta?.units !== 'V') fail(`sub-path: ${JSON.stringify(sub)}`);
if ((await get(`${halyard}/signalk/v1/api/self`)) !== full.self) fail('/signalk/v1/api/self');

// --- 2. The stream ----------------------------------------------------------------------------
const messages = [];
const ws = new WebSocket(v1['signalk-ws']);
ws.on('message', (data) => messages.push({ at: Date.now(), msg: JSON.parse(data.toString()) }));
await new Promise((resolve, reject) => {
  ws.on('open', resolve);
  ws.on('error', reject);
});
await sleep(4000);
const [hello, ...deltas] = messages.map((m) => m.msg);
const helloSchema = require('@signalk/signalk-schema/schemas/hello.json');
if (!hello?.roles || hello.self !== full.self || !schema.getTv4().validate(hello, helloSchema)) fail(`hello: ${JSON.stringify(hello)}`);
if (deltas.length < 5) fail(`only ${deltas.length} deltas in 4 s`);
for (const d of deltas) {
  const r = schema.validateDelta(d);
  if (!r.valid) fail(`invalid delta ${JSON.stringify(d)}: ${JSON.stringify(r.errors.slice(0, 3))}`);
  if (d.context !== full.self) fail(`subscribe=self sent ${d.context}`);
}
const streamed = {};
for (const d of deltas)
  for (const u of d.updates)
    for (const v of u.values ?? [])
      if (v.path.startsWith('electrical.batteries.houseBank.')) (streamed[v.path] ??= []).push(v.value);
if (!streamed['electrical.batteries.houseBank.voltage']) fail('no house bank voltage on the stream');

// Now only battery voltages, the last value every 500 ms.
ws.send(JSON.stringify({ context: '*', unsubscribe: [{ path: '*' }] }));
await sleep(300);
const from = messages.length;
ws.send(JSON.stringify({ context: 'vessels.self', subscribe: [{ path: 'electrical.batteries.*.voltage', policy: 'fixed', period: 500 }] }));
await sleep(3200);
const fixed = messages.slice(from);
const paths = new Set(fixed.flatMap((m) => m.msg.updates.flatMap((u) => u.values.map((v) => v.path))));
for (const p of paths) if (!/^electrical\.batteries\.[A-Za-z0-9]+\.voltage$/.test(p)) fail(`subscribed to battery voltages, got ${p}`);
const bankTimes = fixed.filter((m) => m.msg.updates.some((u) => u.values.some((v) => v.path === 'electrical.batteries.houseBank.voltage'))).map((m) => m.at);
if (bankTimes.length < 5 || bankTimes.length > 9) fail(`fixed 500 ms over 3.2 s sent the bank's voltage ${bankTimes.length} times`);

// Bad input: a clear refusal; a flood: dropped.
const before = messages.length;
ws.send('{"subscribe": [');
ws.send(JSON.stringify({ requestId: 'r1', context: 'vessels.self', subscribe: [{ path: 'navigation.*', policy: 'sometimes' }] }));
await sleep(500);
const refusals = messages.slice(before).map((m) => m.msg).filter((m) => m.statusCode === 400);
if (refusals.length !== 2 || refusals[1].requestId !== 'r1' || !/policy/.test(refusals[1].message))
  fail(`refusals: ${JSON.stringify(refusals)}`);
const closed = new Promise((resolve) => ws.on('close', resolve));
for (let i = 0; i < 200; i++) ws.send(JSON.stringify({ context: 'vessels.self', subscribe: [{ path: `x${i}` }] }));
const why = await Promise.race([closed.then(() => 'closed'), sleep(5000).then(() => 'still open')]);
if (why !== 'closed' || !messages.some((m) => m.msg.statusCode === 429)) fail(`a flooding client: ${why}`);
// The daemon carries on: the model is still served.
await get(`${halyard}/signalk/v1/api/vessels/self/navigation/position`);

// --- 3. The reference server, fed by Halyard's stream -----------------------------------------
const config = join(work, 'signalk-server');
mkdirSync(config, { recursive: true });
writeFileSync(join(config, 'settings.json'), JSON.stringify({
  interfaces: {},
  ssl: false,
  mdns: false,
  pipedProviders: [{
    id: 'halyard',
    enabled: true,
    pipeElements: [{
      type: 'providers/simple',
      options: { logging: false, type: 'SignalK', subOptions: { type: 'ws', host: '127.0.0.1', port: Number(halyardPort), selfHandling: 'useRemoteSelf' } },
    }],
  }],
}));
writeFileSync(join(config, 'package.json'), JSON.stringify({ name: 'signalk-server-config', version: '0.0.1', dependencies: {} }));
const server = spawn(process.execPath, [join(here, 'node_modules/signalk-server/bin/signalk-server')], {
  env: { ...process.env, PORT: skPort, SIGNALK_NODE_CONFIG_DIR: config, SKIP_ADMINUI_VERSION_CHECK: 'true' },
  stdio: ['ignore', 'pipe', 'pipe'],
});
let serverLog = '';
server.stdout.on('data', (d) => (serverLog += d));
server.stderr.on('data', (d) => (serverLog += d));
const stop = () => server.kill('SIGTERM');
process.on('exit', stop);
const sk = `http://127.0.0.1:${skPort}/signalk/v1/api/vessels/self`;
let agreed = null;
for (let i = 0; i < 120 && !agreed; i++) {
  await sleep(500);
  try {
    const theirs = await get(`${sk}/electrical/batteries/houseBank/voltage`);
    const ours = await get(`${halyard}/signalk/v1/api/vessels/self/electrical/batteries/houseBank/voltage`);
    const theirPos = await get(`${sk}/navigation/position`);
    const ourPos = await get(`${halyard}/signalk/v1/api/vessels/self/navigation/position`);
    if (theirs.timestamp === ours.timestamp && theirPos.timestamp === ourPos.timestamp) {
      if (theirs.value !== ours.value) fail(`signalk-server has ${theirs.value} V at ${theirs.timestamp}, Halyard ${ours.value} V`);
      if (theirPos.value.latitude !== ourPos.value.latitude || theirPos.value.longitude !== ourPos.value.longitude)
        fail(`signalk-server has the boat at ${JSON.stringify(theirPos.value)}, Halyard at ${JSON.stringify(ourPos.value)}`);
      agreed = { voltage: theirs.value, position: theirPos.value, timestamp: theirs.timestamp };
    }
  } catch (e) {
    // Not up yet, or not yet fed.
  }
}
stop();
if (!agreed) fail(`signalk-server never gave Halyard's values; its log:\n${serverLog.slice(-3000)}`);

console.log(JSON.stringify({ streamed, agreed, leaves: leaves.length, checked_units: checkedUnits, deltas: deltas.length, fixed_sends: bankTimes.length, ais_vessels: ships(full).length }));
process.exit(0);
