#!/usr/bin/env python3
"""Turn the node's ELF files into the flash images ESP Web Tools writes (called by firmware.sh).

    firmware_images.py ESPTOOL BOOTLOADERS PARTITIONS_CSV VERSION OUT CHIP=ELF...

For each chip: the app image (esptool elf2image), Espressif's second-stage bootloader with this
board's flash settings written into its header (esptool merge-bin updates the header's checksum
and SHA-256 too); for all chips: the partition table in ESP-IDF's binary format, a blank
`otadata` (so the bootloader starts `ota_0`, where the new app goes, whichever slot an update
over the air had left active), and `manifest.json` for ESP Web Tools. The parts are separate, not
one image from offset 0, so an update through the browser keeps the configuration in `nvs`
unless the user asks ESP Web Tools to erase the chip first.
"""

import hashlib
import json
import struct
import subprocess
import sys
from pathlib import Path

# The board: 4 MB of flash in dual-I/O mode at 80 MHz, as on Espressif's ESP32-C3 and C6 modules.
FLASH = ["--flash-mode", "dio", "--flash-freq", "80m", "--flash-size", "4MB"]

# ESP-IDF partition table format (ESP-IDF Programming Guide, "Partition Tables"): written at
# 0x8000, 32-byte entries (magic 0xAA 0x50, type, subtype, offset, size, 16-byte name, flags),
# an MD5 entry (0xEB 0xEB, 14 x 0xFF, the MD5 of the entries before it), then 0xFF to 0xC00.
TABLE_OFFSET = 0x8000
TABLE_SIZE = 0xC00
TYPES = {"app": 0x00, "data": 0x01}
SUBTYPES = {
    "app": {"factory": 0x00, **{f"ota_{i}": 0x10 + i for i in range(16)}, "test": 0x20},
    "data": {"ota": 0x00, "phy": 0x01, "nvs": 0x02, "coredump": 0x03, "nvs_keys": 0x04, "efuse": 0x05,
             "undefined": 0x06, "fat": 0x81, "spiffs": 0x82, "littlefs": 0x83},
}
FLAGS = {"encrypted": 1, "readonly": 2}


def number(text):
    text = text.strip()
    if text.lower().endswith("k"):
        return int(text[:-1], 0) * 1024
    if text.lower().endswith("m"):
        return int(text[:-1], 0) * 1024 * 1024
    return int(text, 0)


def partition_table(csv_text):
    """The binary table and the CSV's rows as (name, type, subtype, offset, size)."""
    rows, entries = [], b""
    for line in csv_text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        cells = [c.strip() for c in line.split(",")]
        name, kind, subtype, offset, size = cells[:5]
        flags = 0
        for flag in filter(None, (cells[5] if len(cells) > 5 else "").split(":")):
            flags |= FLAGS[flag]
        kind_code = TYPES[kind] if kind in TYPES else number(kind)
        sub_code = SUBTYPES.get(kind, {}).get(subtype)
        sub_code = number(subtype) if sub_code is None else sub_code
        if len(name.encode()) > 16:
            sys.exit(f"partition name {name!r} is longer than 16 bytes")
        rows.append((name, kind, subtype, number(offset), number(size)))
        entries += struct.pack("<2sBBLL16sL", b"\xaa\x50", kind_code, sub_code, number(offset), number(size),
                               name.encode(), flags)
    table = entries + b"\xeb\xeb" + b"\xff" * 14 + hashlib.md5(entries).digest()
    if len(table) > TABLE_SIZE:
        sys.exit("the partition table does not fit in 0xC00 bytes")
    return table + b"\xff" * (TABLE_SIZE - len(table)), rows


def run(*args):
    subprocess.run([str(a) for a in args], check=True, stdout=subprocess.DEVNULL)


def main():
    esptool, bootloaders, csv_path, version, out = sys.argv[1:6]
    chips = dict(arg.split("=", 1) for arg in sys.argv[6:])
    bootloaders, out = Path(bootloaders), Path(out)
    out.mkdir(parents=True, exist_ok=True)

    table, rows = partition_table(Path(csv_path).read_text())
    (out / "partitions.bin").write_bytes(table)
    by_name = {r[0]: r for r in rows}
    otadata, app_slot = by_name["otadata"], by_name["ota_0"]
    (out / "otadata.bin").write_bytes(b"\xff" * otadata[4])

    builds = []
    for chip, elf in chips.items():
        app, boot = out / f"halyard-node-{chip}.bin", out / f"bootloader-{chip}.bin"
        # By ELF segment: the radio's many small IRAM sections would otherwise exceed the image
        # format's 16 segments (ESP32-C6). The ELF's SHA-256 goes into the app descriptor at the
        # offset ESP-IDF uses, so `esptool image-info` ties an image to the ELF it came from.
        run(esptool, "--chip", chip, "elf2image", "--use-segments", "--elf-sha256-offset", "0xb0", *FLASH, "-o", app, elf)
        if app.stat().st_size > app_slot[4]:
            sys.exit(f"{app.name} ({app.stat().st_size} bytes) does not fit in ota_0 ({app_slot[4]} bytes)")
        run(esptool, "--chip", chip, "merge-bin", *FLASH, "-o", boot, "0x0", bootloaders / f"{chip}-bootloader.bin")
        builds.append({
            # ESP Web Tools' chip family names (what esptool-js reports when it connects).
            "chipFamily": chip.upper().replace("ESP32", "ESP32-"),
            "parts": [
                {"path": boot.name, "offset": 0},
                {"path": "partitions.bin", "offset": TABLE_OFFSET},
                {"path": "otadata.bin", "offset": otadata[3]},
                {"path": app.name, "offset": app_slot[3]},
            ],
        })
    manifest = {
        "name": "Halyard node",
        "version": version,
        # A first install asks whether to erase the chip (and its saved configuration) first.
        "new_install_prompt_erase": True,
        "builds": builds,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")


if __name__ == "__main__":
    main()
