#!/usr/bin/env python3
"""pynmea2's sentences per second on the same lines as `cargo bench -p halyard --bench nmea`
(going.to.groix, 3,000 lines), checksums checked: the reference figure of issue 8's goal.

    pip install pynmea2 && python3 scripts/bench-pynmea2.py
"""
import pathlib
import time

import pynmea2

path = pathlib.Path(__file__).resolve().parent.parent / "crates/halyard-proto/tests/fixtures/nmea/going.to.groix.head.nmea"
lines = [l for l in path.read_text(errors="replace").splitlines() if l]
best = 0.0
for _ in range(5):
    start = time.perf_counter()
    ok = 0
    for line in lines:
        try:
            pynmea2.parse(line, check=True)
            ok += 1
        except pynmea2.ParseError:
            pass
    rate = len(lines) / (time.perf_counter() - start)
    best = max(best, rate)
print(f"pynmea2 {pynmea2.version}: {len(lines)} lines, {ok} parsed, best of 5: {best:,.0f} lines/s")
