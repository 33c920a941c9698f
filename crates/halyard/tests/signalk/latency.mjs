// How long a reading takes from the wire to a Signal K client: NMEA 0183 MWV sentences sent by
// UDP to a running `halyard run`, each with its own wind speed, timed until the delta carrying
// that speed arrives on Halyard's Signal K WebSocket. Prints the median, p90 and p99.
//
// Usage: node latency.mjs [HALYARD_BINARY] [COUNT] [RATE_PER_SECOND]
// (not part of CI: a measurement, figures in the closing notes)

import { createRequire } from 'node:module';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const WebSocket = require('ws');
const [binary = 'target/release/halyard', count = '1000', rate = '20'] = process.argv.slice(2);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const freePort = () =>
  new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
const checksum = (body) => [...body].reduce((x, c) => x ^ c.charCodeAt(0), 0).toString(16).toUpperCase().padStart(2, '0');

const [web, broker, udp] = [await freePort(), await freePort(), await freePort()];
const dir = mkdtempSync(join(tmpdir(), 'halyard-sk-latency-'));
writeFileSync(join(dir, 'halyard.toml'), `data_dir = "${dir}"
[mqtt]
mdns = false
[broker]
listen = "127.0.0.1:${broker}"
[metrics]
listen = ""
[web]
listen = "127.0.0.1:${web}"
[[nmea]]
source = "udp:127.0.0.1:${udp}"
`);
const halyard = spawn(binary, ['run', '-c', join(dir, 'halyard.toml')], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, RUST_LOG: 'warn' } });
process.on('exit', () => {
  halyard.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
});

let ws;
for (let i = 0; i < 100 && !ws; i++) {
  await sleep(200);
  ws = await new Promise((resolve) => {
    const s = new WebSocket(`ws://127.0.0.1:${web}/signalk/v1/stream?subscribe=none`);
    s.on('open', () => resolve(s));
    s.on('error', () => resolve(undefined));
  });
}
if (!ws) throw new Error('halyard never served its Signal K stream');
const received = new Map();
ws.on('message', (data) => {
  const at = process.hrtime.bigint();
  const msg = JSON.parse(data.toString());
  for (const u of msg.updates ?? [])
    for (const v of u.values ?? []) if (v.path === 'environment.wind.speedApparent') received.set(v.value.toFixed(6), at);
});
ws.send(JSON.stringify({ context: 'vessels.self', subscribe: [{ path: 'environment.wind.speedApparent', policy: 'instant' }] }));
await sleep(500);

const sock = createSocket('udp4');
const sent = new Map();
const n = Number(count);
for (let i = 0; i < n; i++) {
  const knots = (5 + i / 100).toFixed(2);
  const body = `WIMWV,045.0,R,${knots},N,A`;
  const line = `$${body}*${checksum(body)}\r\n`;
  sent.set((Number(knots) * 1852 / 3600).toFixed(6), process.hrtime.bigint());
  sock.send(line, udp, '127.0.0.1');
  await sleep(1000 / Number(rate));
}
await sleep(1000);
sock.close();
const ms = [];
for (const [key, t0] of sent) {
  const t1 = received.get(key);
  if (t1 !== undefined) ms.push(Number(t1 - t0) / 1e6);
}
ms.sort((a, b) => a - b);
const q = (p) => ms[Math.min(ms.length - 1, Math.floor(p * ms.length))]?.toFixed(2);
console.log(JSON.stringify({ sent: n, received: ms.length, median_ms: q(0.5), p90_ms: q(0.9), p99_ms: q(0.99), max_ms: ms.at(-1)?.toFixed(2) }));
process.exit(0);
