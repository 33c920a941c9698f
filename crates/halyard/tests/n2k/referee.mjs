// The NMEA 2000 referee: canboatjs (the decoder Signal K uses) reads a capture and prints one
// JSON line per message: {"pgn","src","dst","fields":{"<field id>":[value, unit, name, type]}},
// the unit, the documentation's name and the field type from canboat's own PGN database. Used by tests/n2k.rs; run as `node referee.mjs FILE`.
//
// canboatjs reads canboat RAW, Yacht Devices RAW and candump lines itself. Two inputs are
// prepared first, as the capture's README notes: canboat RAW times without milliseconds or `Z`
// are rewritten to the form canboatjs accepts, and a SocketCAN pcap (which canboatjs has no
// reader for) is read here, record by record, into candump lines. An Actisense NGT-1 binary
// stream goes through canboatjs's own Actisense reader, which writes canboat RAW lines.
import { createRequire } from 'module';
import { readFileSync, existsSync } from 'fs';
import { dirname, join } from 'path';

const require = createRequire(import.meta.url);
const { FromPgn, serial: ActisenseSerial } = require('@canboat/canboatjs');
import { EventEmitter } from 'events';
// canboat's PGN database, as the canboatjs in use ships it (its package does not export the file).
let dir = dirname(require.resolve('@canboat/ts-pgns', { paths: [dirname(require.resolve('@canboat/canboatjs'))] }));
while (!existsSync(join(dir, 'canboat.json'))) dir = dirname(dir);
const db = JSON.parse(readFileSync(join(dir, 'canboat.json'), 'utf8'));

const defs = new Map();
for (const p of db.PGNs) {
  for (const f of p.Fields) defs.set(`${p.PGN}/${f.Id}`, [f.Unit ?? null, f.Name, f.FieldType]);
}

const parser = new FromPgn({ returnNulls: false, checkForInvalidFields: true });
const described = (pgn, o) => {
  const fields = {};
  for (const [k, v] of Object.entries(o ?? {})) {
    if (k === 'list' || k === 'reserved' || /^reserved\d*$/.test(k)) continue;
    const [unit, name, type] = defs.get(`${pgn}/${k}`) ?? [null, k, null];
    fields[k] = [v, unit, name, type];
  }
  return fields;
};
parser.on('pgn', (m) => {
  const fields = described(m.pgn, m.fields);
  // A repeating group: its entries, described the same way.
  if (Array.isArray(m.fields?.list)) fields.list = m.fields.list.map((entry) => described(m.pgn, entry));
  process.stdout.write(JSON.stringify({ ts: m.timestamp, pgn: m.pgn, src: m.src, dst: m.dst, fields }) + "\n");
});
parser.on('error', () => {});
parser.on('warning', () => {});

const file = process.argv[2];
const bytes = readFileSync(file);
const magic = bytes.readUInt32LE(0);
const dleStx = bytes.subarray(0, 16).indexOf(Buffer.from([0x10, 0x02]));
if (dleStx >= 0) {
  const actisense = new ActisenseSerial({ app: new EventEmitter(), plainText: true, disableSetTransmitPGNs: true, fromFile: true });
  actisense.on('data', (line) => parser.parseString(String(line)));
  actisense.write(bytes); // its end() takes no data
  actisense.end();
} else if (magic === 0xa1b2c3d4 || magic === 0xa1b23c4d) {
  // Classic pcap, LINKTYPE_CAN_SOCKETCAN: can_id (big-endian, flags in the top bits), length,
  // 3 bytes of padding, data.
  const nano = magic === 0xa1b23c4d;
  let at = 24;
  while (at + 16 <= bytes.length) {
    const sec = bytes.readUInt32LE(at);
    const frac = bytes.readUInt32LE(at + 4);
    const caplen = bytes.readUInt32LE(at + 8);
    const rec = bytes.subarray(at + 16, at + 16 + caplen);
    at += 16 + caplen;
    if (rec.length < 8) continue;
    const id = rec.readUInt32BE(0) & 0x1fffffff;
    const len = rec[4];
    const data = rec.subarray(8, 8 + len);
    const usec = nano ? Math.floor(frac / 1000) : frac;
    const line = `(${sec}.${String(usec).padStart(6, '0')}) can0 ${id.toString(16).toUpperCase().padStart(8, '0')}#${data.toString('hex').toUpperCase()}`;
    parser.parseString(line);
  }
} else {
  for (let line of bytes.toString('latin1').split(/\r?\n/)) {
    if (!line.trim() || line.startsWith('#')) continue;
    // `2016-02-28-19:57:01,` and `2016-02-28T19:57:01.250,` → `2016-02-28T19:57:01.000Z,`
    line = line.replace(/^(\d{4}-\d\d-\d\d)[-T](\d\d:\d\d:\d\d)(\.\d+)?Z?,/, (_, d, t, ms) => `${d}T${t}${ms ?? '.000'}Z,`);
    parser.parseString(line);
  }
}
