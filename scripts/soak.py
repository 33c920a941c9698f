#!/usr/bin/env python3
"""The soak: `halyard run` under N boats' VE.Direct load through a Mosquitto outage.

Everything is on loopback. Each boat is four MPPTs and a battery monitor on pseudo-terminals,
each sending one text block a second (19,200-baud cables, ~170-byte blocks written in pieces as a
cable delivers them). Every block carries a sequence number in its `V` field, so every reading
can be counted at the far end: a persistent QoS 1 `mosquitto_sub` session counts each
`vedirect/<serial>/text/V` it receives (lost = sent but never received; duplicated = received
twice, which QoS 1 allows across a reconnect). Mosquitto is stopped for the outage and started
again (its persistence keeps the subscriber's session); Halyard keeps everything in its on-disk
outbox meanwhile. Halyard's RSS and open files are sampled every 5 s, its outbox's growth during
the outage gives how many hours of one boat the outbox's default bound holds.

  scripts/soak.sh                       # the full soak: 10 boats, a 1 h outage (about 1 h 20 min)
  scripts/soak.sh --quick               # 10 boats, a 60 s outage (about 5 min)
  scripts/soak.sh --boats 2 --outage 300 --before 60 --after 120

Needs mosquitto and mosquitto-clients (Debian), and a release build (`cargo build --release`).
Exits non-zero when a reading is lost or a duplicate is not explained by QoS 1.
"""
import argparse, os, pty, re, shutil, signal, socket, subprocess, sys, tempfile, threading, time, tty

from loopback import free_port, vedirect_block

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("HALYARD_BIN", os.path.join(ROOT, "target", "release", "halyard"))
OUTBOX_DEFAULT_MIB = 64  # [mqtt] outbox_max_mib's default (crates/halyard/src/config.rs)


def wait_port(port, up, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            if up:
                return
        except OSError:
            if not up:
                return
        time.sleep(0.05)
    sys.exit(f"soak: port {port} never went {'up' if up else 'down'}")


def mppt(serial, seq):
    return vedirect_block([("PID", "0xA053"), ("FW", "159"), ("SER#", serial), ("V", str(10000 + seq)),
                  ("I", str(5000 + seq % 3000)), ("VPV", str(36000 + seq % 400)), ("PPV", str(60 + seq % 90)),
                  ("CS", "3"), ("MPPT", "2"), ("OR", "0x00000000"), ("ERR", "0"), ("LOAD", "ON"), ("IL", "0"),
                  ("H19", "12345"), ("H20", str(120 + seq // 600)), ("H21", "410"), ("H22", "230"), ("H23", "402"),
                  ("HSDS", "212")])


def bmv(serial, seq):
    return vedirect_block([("PID", "0xA389"), ("V", str(10000 + seq)), ("I", str(-4500 + seq % 900)), ("P", str(-59 + seq % 12)),
                  ("CE", str(-31000 - seq)), ("SOC", str(876 - seq % 300)), ("TTG", "2870"), ("Alarm", "OFF"),
                  ("Relay", "OFF"), ("AR", "0"), ("BMV", "SmartShunt 500A/50mV"), ("FW", "0414"), ("MON", "0"),
                  ("SER#", serial)])


class Device:
    def __init__(self, serial, make, link):
        self.serial, self.make, self.link = serial, make, link
        self.master, slave = pty.openpty()
        tty.setraw(slave)
        os.symlink(os.ttyname(slave), link)
        self.slave = slave
        self.sent = 0

    def send(self):
        b = self.make(self.serial, self.sent)
        for k in range(0, len(b), 48):
            try:
                os.write(self.master, b[k:k + 48])
            except BlockingIOError:
                pass
        self.sent += 1


def rss_and_fds(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            rss = int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))
        return rss, len(os.listdir(f"/proc/{pid}/fd"))
    except (OSError, AttributeError):
        return None, None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="a 60 s outage, short phases")
    ap.add_argument("--boats", type=int, default=10)
    ap.add_argument("--outage", type=float, help="seconds the broker is away (default 3600, quick 60)")
    ap.add_argument("--warmup", type=float, help="seconds before measuring memory (default 120, quick 30)")
    ap.add_argument("--before", type=float, help="seconds from warm-up to the outage (default 300, quick 30)")
    ap.add_argument("--outbox-mib", type=int,
                    help="[mqtt] outbox_max_mib (default: room for the outage, about 110 MiB per boat-hour, at least 64)")
    ap.add_argument("--after", type=float, help="seconds of load after the broker returns (default 600, quick 90)")
    a = ap.parse_args()
    q = a.quick
    outage = a.outage if a.outage is not None else (60 if q else 3600)
    warmup = a.warmup if a.warmup is not None else (30 if q else 120)
    before = a.before if a.before is not None else (30 if q else 300)
    after = a.after if a.after is not None else (90 if q else 600)
    outbox_mib = a.outbox_mib or max(OUTBOX_DEFAULT_MIB, int(a.boats * outage / 3600 * 110) + 1)
    for tool in ("mosquitto", "mosquitto_sub"):
        if not shutil.which(tool):
            sys.exit(f"soak: needs {tool}: apt-get install mosquitto mosquitto-clients")
    if not os.access(BIN, os.X_OK):
        sys.exit(f"soak: no {BIN}: cargo build --release -p halyard")

    work = tempfile.mkdtemp(prefix="halyard-soak-")
    port, metrics = free_port(), free_port()
    store = os.path.join(work, "mosquitto")
    os.makedirs(store)
    # Run as root, Mosquitto drops to its own user: it must be able to reach and write its
    # persistence folder, or a restart silently forgets the checker's session and what was
    # queued for it — which would be counted as Halyard's loss.
    os.chmod(work, 0o755)
    os.chmod(store, 0o777)
    conf = os.path.join(work, "mosquitto.conf")
    with open(conf, "w") as f:
        f.write(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location {store}/\n"
                "max_queued_messages 0\nmax_inflight_messages 0\n")
    broker = subprocess.Popen(["mosquitto", "-c", conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port, True)

    received = {}
    sub = subprocess.Popen(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(port), "-q", "1", "-c", "-i", "soak-checker",
                            "-t", "vedirect/+/text/V", "-v"], stdout=subprocess.PIPE, text=True)
    got_lock = threading.Lock()
    last_arrival = [time.time()]

    def read_sub():
        for line in sub.stdout:
            topic, _, payload = line.strip().partition(" ")
            serial = topic.split("/")[1] if topic.count("/") == 3 else None
            if serial and payload.isdigit():
                with got_lock:
                    received.setdefault(serial, []).append(int(payload) - 10000)
                    last_arrival[0] = time.time()
    threading.Thread(target=read_sub, daemon=True).start()
    time.sleep(1)

    devices = []
    sections = []
    for b in range(a.boats):
        for k in range(4):
            d = Device(f"HQ22{b:02d}SOAK{k}", mppt, os.path.join(work, f"tty{b}-{k}"))
            devices.append(d)
        devices.append(Device(f"HQ22{b:02d}SOAKB", bmv, os.path.join(work, f"tty{b}-b")))
    for d in devices:
        sections.append(f'[[vedirect]]\nport = "{d.link}"\n')
    cfg = os.path.join(work, "halyard.toml")
    data = os.path.join(work, "data")
    with open(cfg, "w") as f:
        f.write(f'data_dir = "{data}"\n[mqtt]\nurl = "mqtt://127.0.0.1:{port}"\nmdns = false\noutbox_max_mib = {outbox_mib}\n'
                f'[broker]\nenabled = false\n[metrics]\nlisten = "127.0.0.1:{metrics}"\n[web]\nlisten = ""\n' + "".join(sections))
    log = open(os.path.join(work, "halyard.log"), "w")
    gw = subprocess.Popen([BIN, "run", "-c", cfg], stdout=log, stderr=subprocess.STDOUT)

    stop = threading.Event()

    def pace():
        next_at = time.time()
        while not stop.is_set():
            for d in devices:
                d.send()
            next_at += 1.0
            time.sleep(max(0.0, next_at - time.time()))
    samples = []

    def sample():
        while not stop.is_set():
            rss, fds = rss_and_fds(gw.pid)
            if rss is not None:
                samples.append((time.time(), rss, fds))
            time.sleep(5)
    t0 = time.time()
    threads = [threading.Thread(target=pace, daemon=True), threading.Thread(target=sample, daemon=True)]
    for t in threads:
        t.start()
    journal = os.path.join(data, "outbox", "mqtt-outbox.journal")

    def journal_size():
        try:
            return os.path.getsize(journal)
        except OSError:
            return 0
    print(f"soak: {a.boats} boats ({len(devices)} VE.Direct devices, 1 block/s each), outage {outage:.0f} s; work in {work}",
          flush=True)
    time.sleep(warmup + before)
    print(f"soak: broker down at {time.time() - t0:.0f} s", flush=True)
    broker.send_signal(signal.SIGTERM)
    broker.wait()
    wait_port(port, False)
    down_at, journal_before = time.time(), journal_size()
    rss_before_outage = rss_and_fds(gw.pid)[0] or 0
    time.sleep(outage)
    journal_growth = journal_size() - journal_before
    rss_end_outage = rss_and_fds(gw.pid)[0] or 0
    down_for = time.time() - down_at
    broker = subprocess.Popen(["mosquitto", "-c", conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port, True)
    print(f"soak: broker back at {time.time() - t0:.0f} s", flush=True)
    time.sleep(after)
    stop.set()
    sent = {d.serial: d.sent for d in devices}
    # Drain: until nothing has arrived for 15 s (at most 10 min).
    drain_start = time.time()
    while time.time() - last_arrival[0] < 15 and time.time() - drain_start < 600:
        time.sleep(1)
    gw.send_signal(signal.SIGTERM)
    try:
        gw.wait(30)
    except subprocess.TimeoutExpired:
        gw.kill()
    sub.terminate()
    broker.terminate()
    broker.wait()

    lost = dups = total_sent = total_got = 0
    with got_lock:
        for serial, n in sent.items():
            got = received.get(serial, [])
            seen = set(got)
            lost += sum(1 for s in range(n) if s not in seen)
            dups += len(got) - len(seen)
            total_sent += n
            total_got += len(got)
    warm = [s for s in samples if s[0] - t0 >= warmup]
    rss0, rss1 = (warm[0][1], warm[-1][1]) if warm else (0, 0)
    mib = lambda kib: f"{kib / 1024:.1f}"
    rss_max = max((s[1] for s in warm), default=0)
    fds = [s[2] for s in warm]
    per_boat_hour = journal_growth / max(down_for, 1) * 3600 / a.boats
    hours = OUTBOX_DEFAULT_MIB * 2**20 / per_boat_hour if per_boat_hour else float("inf")
    print()
    print("| measure | value |\n|---|---:|")
    print(f"| boats / devices | {a.boats} / {len(devices)} |")
    print(f"| outbox bound | {outbox_mib} MiB |")
    print(f"| run / outage (s) | {time.time() - t0:.0f} / {down_for:.0f} |")
    print(f"| readings sent | {total_sent} |")
    print(f"| readings received | {total_got} |")
    print(f"| lost | {lost} |")
    print(f"| duplicated (QoS 1) | {dups} |")
    print(f"| RSS (MiB): after warm-up, before the outage, at its end, at the end (max) | "
          f"{mib(rss0)}, {mib(rss_before_outage)}, {mib(rss_end_outage)}, {mib(rss1)} ({mib(rss_max)}) |")
    print(f"| RSS growth from warm-up to the outage (steady load) | {(rss_before_outage - rss0) / 1024:+.2f} MiB |")
    print(f"| open files after warm-up → end (max) | {fds[0] if fds else '?'} → {fds[-1] if fds else '?'} ({max(fds, default='?')}) |")
    print(f"| outbox growth during the outage | {journal_growth / 2**20:.1f} MiB ({per_boat_hour / 2**20:.2f} MiB per boat-hour) |")
    print(f"| one boat's outage the default {OUTBOX_DEFAULT_MIB} MiB outbox holds | {hours:.1f} h |")
    bad = [l for l in open(log.name) if " ERROR " in l]
    print(f"| error lines in halyard's log | {len(bad)} |")
    # QoS 1 may deliver again what was in flight when the connection dropped: at most the
    # sink's window (100 messages) per lost connection, and this soak loses it once.
    ok = lost == 0 and total_got > 0 and dups <= 100
    if ok:
        for d in devices:
            os.close(d.master)
            os.close(d.slave)
        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"soak: FAILED; everything is kept in {work}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
