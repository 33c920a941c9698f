// A canboat RAW capture (whole messages) rewritten as Actisense N2K ASCII by canboatjs's own
// encoder (`encodeActisenseN2KACSII`), for tests/n2k.rs: Halyard and canboatjs then both read the
// ASCII form. Lines canboatjs would not read (times without milliseconds) are rewritten as the
// referee does. Run as `node to_ascii.mjs FILE > OUT`.
import { createRequire } from 'module';
import { readFileSync } from 'fs';

const require = createRequire(import.meta.url);
const { encodeActisenseN2KACSII } = require('@canboat/canboatjs');

const out = [];
for (const line of readFileSync(process.argv[2], 'latin1').split(/\r?\n/)) {
  if (!line.trim() || line.startsWith('#')) continue;
  const [, prio, pgn, src, dst, len, ...bytes] = line.split(',');
  if (bytes.length !== Number(len)) continue;
  const data = Buffer.from(bytes.map((b) => parseInt(b, 16)));
  out.push(encodeActisenseN2KACSII({ pgn: Number(pgn), data, prio: Number(prio), dst: Number(dst), src: Number(src) }));
}
process.stdout.write(out.join('\r\n') + '\r\n');
