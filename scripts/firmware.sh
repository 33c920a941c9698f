#!/usr/bin/env bash
# Build the ESP32 node's firmware for the ESP32-C3 and C6 (warnings denied, sizes printed) and the
# flash images the dashboard's "Add a node" page offers through ESP Web Tools:
#
#   scripts/firmware.sh [--install DATA_DIR]
#
# writes target/firmware/web/ (manifest.json, per chip the bootloader and the app, the partition
# table and a blank otadata) and, with --install, copies it to DATA_DIR/firmware, where the
# daemon serves it (the Debian package ships it in /usr/share/halyard/firmware).
#
# Needs Debian's rustc-web, rust-web-src and lld-22 (scripts/test.sh installs them), python3-venv,
# and the network once: esptool from PyPI (target/esptool-venv) and Espressif's second-stage
# bootloaders as the espflash crate ships them, from crates.io (checked against its SHA-256).
set -euo pipefail
cd "$(dirname "$0")/.."

install_dir=""
if [ "${1:-}" = "--install" ]; then install_dir="${2:?--install needs a data directory}"; fi

esptool_version=5.6.0
# ESP-IDF v6.1's bootloaders, built by espflash's maintainers from a minimal project (the crate's
# resources/bootloaders/manifest.yaml gives the settings); MIT OR Apache-2.0, ESP-IDF Apache-2.0.
espflash_version=4.7.0
espflash_sha256=470053a0b1671c0d2c47b69000daceb8d79cedf0ad0b13990bf137ef8ddbe5cb

elves=()
for chip in "esp32c3 riscv32imc-unknown-none-elf" "esp32c6 riscv32imac-unknown-none-elf"; do
  read -r feature target <<<"$chip"
  log="target/firmware-$feature.log"
  mkdir -p target
  (cd firmware/halyard-node && RUSTC_BOOTSTRAP=1 RUSTC=/usr/bin/rustc CARGO_TARGET_DIR=../../target/firmware \
    /usr/bin/cargo build --release --locked --target "$target" --no-default-features --features "$feature") 2>&1 | tee "$log"
  if grep -q '^warning' "$log"; then echo "firmware build for $feature has warnings"; exit 1; fi
  echo "$feature (bytes):"
  size "target/firmware/$target/release/halyard-node"
  elves+=("$feature=target/firmware/$target/release/halyard-node")
done

venv=target/esptool-venv
if [ "$("$venv/bin/esptool" version 2>/dev/null | tail -n 1)" != "$esptool_version" ]; then
  rm -rf "$venv"
  /usr/bin/python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "esptool==$esptool_version"
fi

crate="target/firmware/espflash-$espflash_version.crate"
if ! echo "$espflash_sha256  $crate" | sha256sum -c --status 2>/dev/null; then
  curl -fsSL -o "$crate.part" "https://static.crates.io/crates/espflash/espflash-$espflash_version.crate"
  echo "$espflash_sha256  $crate.part" | sha256sum -c --quiet
  mv "$crate.part" "$crate"
fi
bootloaders="target/firmware/bootloaders"
rm -rf "$bootloaders" && mkdir -p "$bootloaders"
tar -xzf "$crate" -C "$bootloaders" --strip-components=3 \
  "espflash-$espflash_version/resources/bootloaders/esp32c3-bootloader.bin" \
  "espflash-$espflash_version/resources/bootloaders/esp32c6-bootloader.bin"

version=$(sed -n 's/^version = "\(.*\)"/\1/p' firmware/halyard-node/Cargo.toml | head -n 1)
out=target/firmware/web
rm -rf "$out"
python3 scripts/firmware_images.py "$venv/bin/esptool" "$bootloaders" firmware/halyard-node/partitions.csv \
  "$version" "$out" "${elves[@]}"
echo "flash images for ESP Web Tools in $out:"
ls -l "$out"

if [ -n "$install_dir" ]; then
  mkdir -p "$install_dir/firmware"
  cp "$out"/* "$install_dir/firmware/"
  echo "installed in $install_dir/firmware"
fi
