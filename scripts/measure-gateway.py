#!/usr/bin/env python3
"""Measure `halyard run` under a full boat's load, with no hardware.

Load (all on loopback, real wire formats, paced as the devices send them):
  * 4 VE.Direct MPPTs on pseudo-terminals, one text block per second each, values changing
    (19,200 baud cables; each block about 170 bytes);
  * 1 VE.Direct battery monitor, two alternating blocks per second;
  * a MasterBus: the recorded shunt + MasterView traffic (tests/fixtures/masterbus/
    volts_amps_only.candump.log) served by a fake ECAN-E01 gateway over TCP at 4x the recorded
    rate (about 100 frames/s, a shunt, a Mass Combi and two displays);
and the embedded MQTT broker with Home Assistant discovery on.

Prints CPU (% of one core) and RSS of the halyard process, and what it published.
Usage: scripts/measure-gateway.py [SECONDS]   (builds nothing: run `cargo build --release` first)
"""
import os, pty, re, socket, subprocess, sys, tempfile, threading, time, tty, urllib.request

from loopback import free_port, vedirect_block

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "halyard")
SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 60.0
CANDUMP = os.path.join(ROOT, "crates/halyard-proto/tests/fixtures/masterbus/volts_amps_only.candump.log")


def mppt(serial, i):
    return vedirect_block([("PID", "0xA053"), ("FW", "159"), ("SER#", serial), ("V", str(13200 + i % 50)),
                  ("I", str(10000 + (i * 37) % 3000)), ("VPV", str(36000 + i % 400)), ("PPV", str(140 + i % 60)),
                  ("CS", "3"), ("MPPT", "2"), ("OR", "0x00000000"), ("ERR", "0"), ("LOAD", "ON"), ("IL", "0"),
                  ("H19", "12345"), ("H20", str(120 + i // 60)), ("H21", "410"), ("H22", "230"), ("H23", "402"),
                  ("HSDS", "212")])


def bmv(i):
    return [vedirect_block([("PID", "0xA389"), ("V", str(13210 + i % 20)), ("VS", "12910"), ("I", str(-4500 + i % 900)),
                   ("P", str(-59 + i % 12)), ("CE", str(-31000 - i)), ("SOC", str(876 - i // 600)),
                   ("TTG", "2870"), ("Alarm", "OFF"), ("Relay", "OFF"), ("AR", "0"), ("BMV", "SmartShunt 500A/50mV"),
                   ("FW", "0414"), ("MON", "0")]),
            vedirect_block([("H1", "-160000"), ("H2", "-31000"), ("H3", "-90000"), ("H4", "12"), ("H5", "0"), ("H6", "-9000000"),
                   ("H7", "10500"), ("H8", "14700"), ("H9", "86400"), ("H10", "30"), ("H11", "0"), ("H12", "0"),
                   ("H15", "0"), ("H16", "0"), ("H17", "4100"), ("H18", "4500"), ("SER#", "HQ2150BMV01")])]


def serial_writer(master, make, stop):
    i = 0
    while not stop.is_set():
        for b in make(i):
            for k in range(0, len(b), 32):
                os.write(master, b[k:k + 32])
                time.sleep(32 / 1920)
        i += 1
        time.sleep(max(0.0, 1.0 - 0.1))


def ecan_server(port, stop):
    frames = []
    for line in open(CANDUMP):
        m = re.match(r"\((\d+\.\d+)\) \S+ ([0-9A-F]+)#([0-9A-F]*)", line)
        if m:
            cid = int(m.group(2), 16)
            if cid <= 0x1FFFFFFF:  # error frames (CAN_ERR_FLAG) cannot travel over ECAN
                frames.append((float(m.group(1)), cid, bytes.fromhex(m.group(3))))
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(1)
    srv.settimeout(1)
    while not stop.is_set():
        try:
            conn, _ = srv.accept()
        except socket.timeout:
            continue
        t0, w0 = frames[0][0], time.monotonic()
        try:
            for n, (ts, cid, data) in enumerate(frames * 10):
                if stop.is_set():
                    break
                lap = (n // len(frames)) * (frames[-1][0] - t0)
                due = w0 + (ts - t0 + lap) / 4.0
                delay = due - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                head = 0x80 | len(data)
                conn.sendall(bytes([head]) + cid.to_bytes(4, "big") + data.ljust(8, b"\0"))
        except OSError:
            pass
        conn.close()


def proc_stat(pid):
    with open(f"/proc/{pid}/stat") as f:
        parts = f.read().rsplit(")", 1)[1].split()
    ticks = int(parts[11]) + int(parts[12])
    with open(f"/proc/{pid}/status") as f:
        status = f.read()
    rss = int(re.search(r"VmRSS:\s+(\d+)", status).group(1))
    hwm = int(re.search(r"VmHWM:\s+(\d+)", status).group(1))
    return ticks, rss, hwm


def main():
    stop = threading.Event()
    tmp = tempfile.mkdtemp(prefix="halyard-load-")
    ports = []
    for n, make in enumerate([lambda i, s=s: [mppt(s, i)] for s in ["HQ2213AAAA1", "HQ2213AAAA2", "HQ2213AAAA3", "HQ2213AAAA4"]] + [bmv]):
        master, slave = pty.openpty()
        tty.setraw(slave)
        link = os.path.join(tmp, f"ttyVE{n}")
        os.symlink(os.ttyname(slave), link)
        ports.append(link)
        threading.Thread(target=serial_writer, args=(master, make, stop), daemon=True).start()
    ecan = free_port()
    threading.Thread(target=ecan_server, args=(ecan, stop), daemon=True).start()
    broker, metrics = free_port(), free_port()
    cfg = os.path.join(tmp, "halyard.toml")
    with open(cfg, "w") as f:
        f.write(f'data_dir = "{tmp}/data"\n[mqtt]\nmdns = false\n[broker]\nlisten = "127.0.0.1:{broker}"\n')
        f.write(f'[metrics]\nlisten = "127.0.0.1:{metrics}"\n[log]\nlevel = "warn"\n')
        for p in ports:
            f.write(f'[[vedirect]]\nport = "{p}"\n')
        f.write(f'[[masterbus]]\nsource = "ecan:127.0.0.1:{ecan}"\n')
        for i, s in enumerate(["HQ2213AAAA1", "HQ2213AAAA2", "HQ2213AAAA3", "HQ2213AAAA4"]):
            f.write(f'[[device]]\nname = "mppt-{i + 1}"\nrole = "solar"\ngroup = "{"port" if i < 2 else "starboard"}"\nserial = "{s}"\n')
    gw = subprocess.Popen([BIN, "run", "-c", cfg], stderr=subprocess.DEVNULL)
    time.sleep(5)  # warm up: discovery messages, first blocks
    t0, _, _ = proc_stat(gw.pid)
    w0 = time.monotonic()
    rss_max = 0
    while time.monotonic() - w0 < SECONDS:
        time.sleep(1)
        _, rss, _ = proc_stat(gw.pid)
        rss_max = max(rss_max, rss)
    t1, rss, hwm = proc_stat(gw.pid)
    wall = time.monotonic() - w0
    text = urllib.request.urlopen(f"http://127.0.0.1:{metrics}/metrics").read().decode()
    gw.terminate()
    gw.wait(timeout=15)
    stop.set()

    def total(name):
        return sum(float(v) for v in re.findall(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, re.M))

    hz = os.sysconf("SC_CLK_TCK")
    cpu = 100.0 * (t1 - t0) / hz / wall
    print(f"load: 4 MPPTs + 1 battery monitor on VE.Direct ptys, MasterBus over ECAN at ~4x recorded rate, {wall:.0f} s")
    print(f"frames in: {total('halyard_frames_total'):.0f} total, updates: {total('halyard_updates_total'):.0f}, "
          f"MQTT messages acknowledged: {total('halyard_mqtt_publishes_total'):.0f}, decode errors: {total('halyard_decode_errors_total'):.0f}")
    for labels, v in re.findall(r"^halyard_decode_errors_total\{(.*)\} (\S+)$", text, re.M):
        print(f"  decode errors {labels}: {float(v):.0f}")
    print(f"halyard run: CPU {cpu:.2f} % of one core, RSS {rss / 1024:.1f} MiB (max sampled {rss_max / 1024:.1f} MiB, high-water {hwm / 1024:.1f} MiB)")


if __name__ == "__main__":
    main()
