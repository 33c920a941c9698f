#!/usr/bin/env python3
"""The kill loop: SIGKILL `halyard import`, `replay` and `run` at random moments, many times.

A simulated recording (3 days by default) is imported once, uninterrupted, into a reference
store. Then the same recording goes into a second store through `import` and `replay
--max-speed`, each killed with SIGKILL after a random 0.2–3 s, over and over; `run` is killed
the same way while it records VE.Direct blocks from pseudo-terminals (into a store of its own,
since those readings are not the recording's). After every kill the store must open and pass
`PRAGMA integrity_check`, and must not have lost samples it had. At the end one uninterrupted
import completes the killed store, and every day's report (`halyard report --date D --json`)
and the season summary must equal the reference's byte for byte: nothing counted twice,
nothing missing.

  scripts/kills.py [KILLS] [--days N] [--seed S]     # 100 kills by default

Needs a release build (`cargo build --release`). Exits non-zero on the first failure.
(CI runs a smaller version of this: tests/store.rs, killed_imports_leave_a_sound_store….)
"""
import argparse, json, os, pty, random, shutil, sqlite3, subprocess, sys, tempfile, threading, time, tty

from loopback import free_port, vedirect_block

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("HALYARD_BIN", os.path.join(ROOT, "target", "release", "halyard"))


def config(work, sim_toml, db, extra=""):
    path = db + ".toml"
    with open(path, "w") as f:
        # The simulated boat's own data_dir gives way to this run's.
        boat = "".join(l for l in open(sim_toml) if not l.startswith("data_dir = "))
        f.write(f'data_dir = "{db}.data"\n{boat}\n[store]\npath = "{db}"\n'
                f'[mqtt]\nmdns = false\n[broker]\nlisten = "127.0.0.1:{free_port()}"\n'
                f'[metrics]\nlisten = ""\n[web]\nlisten = ""\n{extra}')
    return path


def check(db, what):
    """The store opens, is intact, and its sample count (returned)."""
    c = sqlite3.connect(db)
    try:
        ok = c.execute("PRAGMA integrity_check").fetchone()[0]
        if ok != "ok":
            sys.exit(f"kills: {what}: integrity_check says {ok!r}")
        try:
            return c.execute("SELECT count(*) FROM samples").fetchone()[0]
        except sqlite3.OperationalError:
            return 0  # killed before the schema was created
    finally:
        c.close()


def reports(cfg, days):
    out = {}
    for d in days:
        r = subprocess.run([BIN, "report", "-c", cfg, "--date", d, "--json"], capture_output=True)
        out[d] = r.stdout
    r = subprocess.run([BIN, "report", "-c", cfg, "--season", "--from", days[0], "--to", days[-1], "--json"],
                       capture_output=True)
    out["season"] = r.stdout
    return out


def block(serial, seq):
    fields = [("PID", "0xA053"), ("SER#", serial), ("V", str(12000 + seq % 2000)), ("I", "5000"),
              ("VPV", "36000"), ("PPV", str(100 + seq % 50)), ("CS", "3"), ("ERR", "0"), ("H20", "12")]
    return vedirect_block(fields)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("kills", type=int, nargs="?", default=100)
    ap.add_argument("--days", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    if not os.access(BIN, os.X_OK):
        sys.exit(f"kills: no {BIN}: cargo build --release -p halyard")
    rng = random.Random(a.seed)
    work = tempfile.mkdtemp(prefix="halyard-kills-")
    subprocess.run([BIN, "sim", "--days", str(a.days), "--period", "60", "--out", work], check=True,
                   stdout=subprocess.DEVNULL)
    rec, sim_toml = os.path.join(work, "boat.hrec"), os.path.join(work, "halyard.toml")
    start = "2026-06-21"
    t0 = time.mktime(time.strptime(start, "%Y-%m-%d"))
    days = [time.strftime("%Y-%m-%d", time.localtime(t0 + 86400 * k + 43200)) for k in range(a.days)]

    ref = os.path.join(work, "reference.sqlite")
    ref_cfg = config(work, sim_toml, ref)
    t = time.time()
    subprocess.run([BIN, "import", "-c", ref_cfg, rec], check=True, capture_output=True)
    print(f"kills: reference import of {a.days} days in {time.time() - t:.1f} s, {check(ref, 'reference')} samples")
    want = reports(ref_cfg, days)

    db = os.path.join(work, "killed.sqlite")
    cfg = config(work, sim_toml, db)
    run_db = os.path.join(work, "run.sqlite")
    tty_link = os.path.join(work, "ttyVE")
    master, slave = pty.openpty()
    tty.setraw(slave)
    os.symlink(os.ttyname(slave), tty_link)
    run_cfg = config(work, sim_toml, run_db, f'[[vedirect]]\nport = "{tty_link}"\n')
    stop = threading.Event()

    def feed():
        seq = 0
        while not stop.is_set():
            try:
                os.write(master, block("HQ2213KILLS", seq))
            except OSError:
                pass
            seq += 1
            time.sleep(0.02)
    threading.Thread(target=feed, daemon=True).start()

    kept = 0
    counts = {"import": 0, "replay": 0, "run": 0}
    for k in range(a.kills):
        mode = ("import", "replay", "run")[k % 3]
        args = {"import": ["import", "-c", cfg, rec], "replay": ["replay", "--max-speed", "-c", cfg, rec],
                "run": ["run", "-c", run_cfg]}[mode]
        p = subprocess.Popen([BIN] + args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.2, 3.0))
        finished = p.poll() is not None
        p.kill()
        p.wait()
        counts[mode] += 0 if finished else 1
        if mode == "run":
            check(run_db, f"kill {k} ({mode})")
        else:
            n = check(db, f"kill {k} ({mode})")
            if n < kept:
                sys.exit(f"kills: kill {k} ({mode}): {n} samples after, {kept} before")
            kept = n
        if (k + 1) % 10 == 0:
            print(f"kills: {k + 1} of {a.kills}: store sound, {kept} samples", flush=True)
    stop.set()
    subprocess.run([BIN, "import", "-c", cfg, rec], check=True, capture_output=True)
    final = check(db, "after the last import")
    got = reports(cfg, days)
    bad = [d for d in want if want[d] != got[d]]
    print(f"kills: {sum(counts.values())} SIGKILLs landed mid-run ({counts}), "
          f"samples {final} (reference {check(ref, 'reference')})")
    empty = [d for d in want if not want[d].strip()]
    if empty:
        sys.exit(f"kills: the reference has no report for {empty}")
    if bad:
        for d in bad:
            print(f"kills: {d} differs:\n  reference {want[d][:300]!r}\n  killed    {got[d][:300]!r}")
        sys.exit(f"kills: FAILED, kept in {work}")
    print(f"kills: every day's report and the season equal the uninterrupted import's, byte for byte")
    os.close(master)
    os.close(slave)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
