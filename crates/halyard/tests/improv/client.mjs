// The official Improv serial client (improv-wifi-serial-sdk, as ESP Web Tools uses it) on a
// pseudo-terminal: `node --import ./resolve.mjs client.mjs /dev/pts/N SSID PASSWORD`. Web Serial's
// SerialPort is two web streams; Node's tty streams on the terminal give them (tty streams poll the
// descriptor; fs streams would block a thread-pool thread in read(), and exit would wait for it).
// Prints one JSON line per step for tests/node_improv.rs.
import fs from "node:fs";
import tty from "node:tty";
import { Readable, Writable } from "node:stream";
import { ImprovSerial } from "improv-wifi-serial-sdk/dist/serial.js";

const [path, ssid, password] = process.argv.slice(2);
const fd = fs.openSync(path, "r+");
const port = {
  readable: Readable.toWeb(new tty.ReadStream(fd)),
  writable: Writable.toWeb(new tty.WriteStream(fd)),
};
const quiet = { log() {}, debug() {}, error: (...a) => console.error(...a) };
const say = (step, value) => console.log(JSON.stringify({ step, value }));

const improv = new ImprovSerial(port, quiet);
const timer = setTimeout(() => {
  say("timeout", null);
  process.exit(2);
}, 20000);
try {
  say("info", await improv.initialize(5000));
  say("state", improv.state);
  await improv.provision(ssid, password, 10000);
  say("provisioned", { state: improv.state, url: improv.nextUrl });
  try {
    say("scan", await improv.scan(5000));
  } catch (e) {
    say("scan", String(e));
  }
  await improv.requestCurrentState(3000);
  say("state-again", { state: improv.state, url: improv.nextUrl });
} catch (e) {
  say("error", String(e));
}
clearTimeout(timer);
process.exit(0);
