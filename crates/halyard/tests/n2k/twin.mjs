// The NMEA 0183 twin of an NMEA 2000 capture: canboatjs (the referee) decodes the capture, and
// each navigation message it reads is written as the NMEA 0183 sentence that says the same —
// a time-stamping ZDA first whenever the time moves, then GLL (129025), GGA (129029), VTG
// (129026), MWV/MWD (130306), HDT/HDG (127250), DPT (128267) and VHW (128259). Halyard reads
// the twin through its NMEA 0183 path and the capture through its NMEA 2000 path; tests/n2k.rs
// checks that both give the same navigation answers. Run as `node twin.mjs FILE` (canboat RAW).
import { createRequire } from 'module';
import { readFileSync } from 'fs';

const require = createRequire(import.meta.url);
const { FromPgn } = require('@canboat/canboatjs');

const DEG = 180 / Math.PI;
const KN = 3600 / 1852;
const out = [];
const sentence = (body) => {
  let sum = 0;
  for (const c of body) sum ^= c.charCodeAt(0);
  out.push(`$${body}*${sum.toString(16).toUpperCase().padStart(2, '0')}`);
};
const two = (n) => String(n).padStart(2, '0');
const hms = (d) => `${two(d.getUTCHours())}${two(d.getUTCMinutes())}${two(d.getUTCSeconds())}.${String(d.getUTCMilliseconds()).padStart(3, '0')}`;
const lat = (v) => {
  const a = Math.abs(v);
  const deg = Math.floor(a);
  return `${two(deg)}${((a - deg) * 60).toFixed(7).padStart(10, '0')},${v < 0 ? 'S' : 'N'}`;
};
const lon = (v) => {
  const a = Math.abs(v);
  const deg = Math.floor(a);
  return `${String(deg).padStart(3, '0')}${((a - deg) * 60).toFixed(7).padStart(10, '0')},${v < 0 ? 'W' : 'E'}`;
};
const num = (v, places) => (v === undefined || v === null ? '' : Number(v).toFixed(places));

let lastTime = null;
const parser = new FromPgn({ returnNulls: false, checkForInvalidFields: true });
parser.on('pgn', (m) => {
  const f = m.fields ?? {};
  const at = new Date(m.timestamp);
  const stamp = () => {
    if (lastTime === at.getTime()) return;
    lastTime = at.getTime();
    sentence(`GPZDA,${hms(at)},${two(at.getUTCDate())},${two(at.getUTCMonth() + 1)},${at.getUTCFullYear()},00,00`);
  };
  switch (m.pgn) {
    case 129025:
      if (f.latitude === undefined || f.longitude === undefined) return;
      stamp();
      sentence(`GPGLL,${lat(f.latitude)},${lon(f.longitude)},${hms(at)},A,A`);
      break;
    case 129029: {
      if (f.latitude === undefined || f.longitude === undefined) return;
      const fix = /fix|precise|rtk/i.test(f.method ?? '') ? 1 : 0;
      stamp();
      sentence(`GPGGA,${hms(at)},${lat(f.latitude)},${lon(f.longitude)},${fix},${f.numberOfSvs ?? ''},${num(f.hdop, 2)},${num(f.altitude, 2)},M,,M,,`);
      break;
    }
    case 129026:
      stamp();
      sentence(`GPVTG,${f.cogReference === 'True' ? num(f.cog * DEG, 3) : ''},T,,M,${num(f.sog * KN, 2)},N,,K,A`);
      break;
    case 130306: {
      if (f.windSpeed === undefined || f.windAngle === undefined) return;
      const speed = num(f.windSpeed * KN, 2);
      const angle = num(f.windAngle * DEG, 3);
      stamp();
      if (f.reference === 'Apparent') sentence(`WIMWV,${angle},R,${speed},N,A`);
      else if (/boat|water/i.test(f.reference)) sentence(`WIMWV,${angle},T,${speed},N,A`);
      else if (/North/.test(f.reference) && !/Magnetic/.test(f.reference)) sentence(`WIMWD,${angle},T,,M,${speed},N,,M`);
      break;
    }
    case 127250:
      if (f.heading === undefined) return;
      stamp();
      if (f.reference === 'True') sentence(`HCHDT,${num(f.heading * DEG, 3)},T`);
      else if (f.reference === 'Magnetic') {
        const ew = (v) => (v === undefined ? ',' : `${num(Math.abs(v * DEG), 3)},${v < 0 ? 'W' : 'E'}`);
        sentence(`HCHDG,${num(f.heading * DEG, 3)},${ew(f.deviation)},${ew(f.variation)}`);
      }
      break;
    case 128267:
      if (f.depth === undefined) return;
      stamp();
      sentence(`SDDPT,${num(f.depth, 2)},${num(f.offset, 3)}`);
      break;
    case 128259:
      if (f.speedWaterReferenced === undefined) return;
      stamp();
      sentence(`VWVHW,,T,,M,${num(f.speedWaterReferenced * KN, 2)},N,,K`);
      break;
  }
});
parser.on('error', () => {});
parser.on('warning', () => {});

for (let line of readFileSync(process.argv[2], 'latin1').split(/\r?\n/)) {
  if (!line.trim() || line.startsWith('#')) continue;
  line = line.replace(/^(\d{4}-\d\d-\d\d)[-T](\d\d:\d\d:\d\d)(\.\d+)?Z?,/, (_, d, t, ms) => `${d}T${t}${ms ?? '.000'}Z,`);
  parser.parseString(line);
}
process.stdout.write(out.join('\r\n') + '\r\n');
