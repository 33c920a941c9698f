#!/usr/bin/env bash
# Run every check Halyard's CI runs, on a fresh Debian machine: installs the Debian packages the
# tests need (apt-get; as root or through sudo), then formatting, lints, tests, the no_std build
# for the ESP32-C3 target, and the docs.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# rustc-web/cargo-web/rust-web-src (Debian bookworm-security) carry the core library sources that
# `-Zbuild-std` needs to build halyard-proto for riscv32imc-unknown-none-elf; lld-22 links firmware.
# libdbus-1-dev and pkg-config build the BlueZ client (feature `bluetooth`); mosquitto and
# mosquitto-clients are the independent broker and subscriber of the gateway's integration tests;
# openssl makes the certificates of the TLS test; postgresql runs the store tests against a real
# PostgreSQL (the tests start a cluster of their own on a loopback port); chromium is the browser
# of the dashboard's end-to-end test (driven by playwright-core from npm); gpsd and gpsd-clients
# (gpsfake) play real NMEA logs into gpsd for the NMEA source's test; python3-venv holds the
# official Meshtastic Python package (PyPI) that makes the Meshtastic tests' messages; tmux is the
# terminal `halyard setup`'s interactive test types into; dpkg-dev, fakeroot, lintian, adduser and
# systemd build, check, install and verify the Debian package; faketime moves a live gateway's clock
# (tests/clock.rs); python3-aiosmtpd is the mail server the e-mail notifier's test sends to; influxdb
# the InfluxDB sink's; curl fetches the node's bootloaders from crates.io (scripts/firmware.sh).
packages=(curl rustc-web cargo-web rust-web-src lld-22 iproute2 libdbus-1-dev pkg-config mosquitto mosquitto-clients openssl postgresql chromium gpsd gpsd-clients python3-venv tmux faketime python3-aiosmtpd influxdb dpkg-dev fakeroot lintian adduser systemd)
# Node.js and npm fetch the dashboard's front-end packages (web/package-lock.json); any recent
# Node.js will do, Debian's when there is none.
command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)
if ! dpkg -s "${packages[@]}" >/dev/null 2>&1; then
  as_root apt-get update
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${packages[@]}"
fi

step() { printf '\n==> %s\n' "$*"; }

step "front-end packages (npm ci in web/: uPlot for the dashboard, playwright-core for its test)"
(cd web && npm ci --no-audit --no-fund)

step "the Signal K referees (npm ci in crates/halyard/tests/signalk: signalk-server, @signalk/signalk-schema, ws)"
(cd crates/halyard/tests/signalk && npm ci --no-audit --no-fund)

step "the NMEA 2000 referee (npm ci in crates/halyard/tests/n2k: @canboat/canboatjs, no native serial port build)"
(cd crates/halyard/tests/n2k && npm ci --no-audit --no-fund --ignore-scripts)

step "the Improv Wi-Fi referee (npm ci in crates/halyard/tests/improv: improv-wifi-serial-sdk)"
(cd crates/halyard/tests/improv && npm ci --no-audit --no-fund --omit=dev)

step "the official Meshtastic Python package (PyPI meshtastic, in target/meshtastic-venv)"
venv=target/meshtastic-venv
if ! "$venv/bin/python" -c "import meshtastic.protobuf.mesh_pb2" >/dev/null 2>&1; then
  rm -rf "$venv"
  /usr/bin/python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "meshtastic==2.7.11"
fi

step "the ESPHome referee (PyPI aioesphomeapi: its message classes and Noise library make the stand-in proxy, in target/esphome-venv)"
venv=target/esphome-venv
if ! "$venv/bin/python" -c "import aioesphomeapi.api_pb2, noise.connection" >/dev/null 2>&1; then
  rm -rf "$venv"
  /usr/bin/python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "aioesphomeapi==46.23.0"
fi

step "formatting"
cargo fmt --all -- --check

step "clippy (warnings denied, every feature)"
cargo clippy --workspace --all-targets --all-features -- -D warnings

step "halyard-proto builds without std and without alloc"
cargo build -p halyard-proto --no-default-features
cargo build -p halyard-proto --no-default-features --features alloc

step "no_std build for the ESP32-C3 (riscv32imc-unknown-none-elf, Debian rustc-web)"
for features in "" "--features alloc"; do
  # shellcheck disable=SC2086
  RUSTC_BOOTSTRAP=1 RUSTC=/usr/bin/rustc CARGO_TARGET_DIR=target/riscv \
    /usr/bin/cargo build -p halyard-proto --release --target riscv32imc-unknown-none-elf \
    -Zbuild-std=core,alloc $features
done

step "the ESP32 node's firmware for the ESP32-C3 and C6 (warnings denied) and its flash images (scripts/firmware.sh)"
scripts/firmware.sh

step "docs (warnings denied)"
RUSTDOCFLAGS="-D warnings" cargo doc -p halyard-proto --no-deps

step "tests"
cargo test --workspace --all-features

step "the Debian package (amd64): build, lintian, install, check, verify the unit, purge"
deb=$(scripts/package.sh amd64 --check | tee /dev/stderr | tail -n 1)
as_root dpkg -i "$deb"
halyard --version | tee /dev/stderr | grep -q "bluetooth, socketcan, tls, postgres"
halyard run --check -c /etc/halyard/halyard.toml
as_root test "$(stat -c '%a %U' /etc/halyard/keys.toml)" = "600 halyard"
systemd-analyze verify /lib/systemd/system/halyard.service
systemd-analyze security --offline=yes /lib/systemd/system/halyard.service | tail -n 1
# An upgrade (the same package again) keeps the user's configuration and keys.
echo '# the owner was here' | as_root tee -a /etc/halyard/halyard.toml /etc/halyard/keys.toml >/dev/null
as_root dpkg -i "$deb"
as_root grep -q 'the owner was here' /etc/halyard/halyard.toml
as_root grep -q 'the owner was here' /etc/halyard/keys.toml
as_root dpkg --purge halyard
test ! -e /etc/halyard && test ! -e /var/lib/halyard
