#!/usr/bin/env python3
"""A stand-in ESPHome Bluetooth proxy for Halyard's tests, built from the official client
library's own pieces: the API's message classes from aioesphomeapi (api_pb2, with the message
ids aioesphomeapi maps them to) and the Noise library aioesphomeapi's frame helper uses
(noiseprotocol), here as the responder. It serves recorded adverts to whoever connects.

    esphome_device.py PORT ADVERTS [--key BASE64] [--password PW] [--legacy]
                      [--drop-after N] [--garbage] [--log FILE]
                      [--rate N] [--start I] [--loop] [--sent FILE]

ADVERTS: lines `MAC DATA` in hex, DATA the manufacturer data after Victron's company id. Each
is sent as a raw advertisement (flags, then the 0xFF structure `E1 02 DATA`), sixteen to a
message, with another maker's advert every 50; `--legacy` sends parsed adverts instead (the
older BluetoothLEAdvertisementResponse). The position is kept across connections, so a
connection dropped by `--drop-after N` (after N adverts) resumes where it stopped. `--garbage`
answers the subscription with a frame far larger than the API allows. Every message the client
sends is logged by name to FILE. For measurements, `--rate N` paces the adverts at N a second
(one per message) from index `--start`, `--loop` starts the list again at its end, and
`--sent FILE` records `index unix_ns` as each is written. Prints `listening` when ready.
"""

import argparse
import asyncio
import base64
import sys
import time

from aioesphomeapi import api_pb2 as pb
from aioesphomeapi.core import MESSAGE_TYPE_TO_PROTO
from noise.connection import NoiseConnection

ID_OF = {cls: i for i, cls in MESSAGE_TYPE_TO_PROTO.items()}
NOISE = b"Noise_NNpsk0_25519_ChaChaPoly_SHA256"


def varint(n):
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


class Device:
    def __init__(self, args):
        self.args = args
        self.adverts = []
        for line in open(args.adverts):
            mac, data = line.split()
            self.adverts.append((int(mac, 16), bytes.fromhex(data)))
        self.position = args.start % max(len(self.adverts), 1)
        self.dropped = False
        self.sent = open(args.sent, "a") if args.sent else None
        self.log = open(args.log, "a") if args.log else None

    async def serve(self, reader, writer):
        try:
            await self.session(reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def session(self, reader, writer):
        psk = base64.b64decode(self.args.key) if self.args.key else None
        noise = None
        first = await reader.readexactly(1)
        if psk is None:
            if first != b"\x00":
                return  # a plaintext device drops what it cannot read
        else:
            if first != b"\x01":
                # What an encrypted device answers a plaintext client.
                writer.write(b"\x01\x00\x13\x01Bad indicator byte")
                await writer.drain()
                return
            await reader.readexactly(2)  # the rest of the empty client hello
            frame = await self.noise_frame(reader)
            noise = NoiseConnection.from_name(NOISE)
            noise.set_as_responder()
            noise.set_psks(psk)
            noise.set_prologue(b"NoiseAPIInit\x00\x00")
            noise.start_handshake()
            writer.write(self.noise_out(b"\x01fake-proxy\x00c03b00000001\x00"))
            try:
                noise.read_message(frame[1:])
            except Exception:
                writer.write(self.noise_out(b"\x01Handshake MAC failure"))
                await writer.drain()
                return
            writer.write(self.noise_out(b"\x00" + noise.write_message()))
            await writer.drain()
        streaming = None
        marker_read = psk is None  # a plaintext client's first 0x00 is read already
        try:
            while True:
                kind, body = await self.read(reader, noise, marker_read)
                marker_read = False
                msg = MESSAGE_TYPE_TO_PROTO[kind]()
                msg.ParseFromString(body)
                if self.log:
                    print(type(msg).__name__, file=self.log, flush=True)
                if isinstance(msg, pb.HelloRequest):
                    self.send(writer, noise, pb.HelloResponse(api_version_major=1, api_version_minor=12,
                                                              server_info="fake-proxy (esphome v2025.10.0)",
                                                              name="fake-proxy"))
                elif isinstance(msg, pb.AuthenticationRequest):
                    if self.args.password is not None and msg.password != self.args.password:
                        self.send(writer, noise, pb.AuthenticationResponse(invalid_password=True))
                        await writer.drain()
                        return
                elif isinstance(msg, pb.DeviceInfoRequest):
                    self.send(writer, noise, pb.DeviceInfoResponse(name="fake-proxy", model="esp32-c3-devkitm-1",
                                                                   esphome_version="2025.10.0",
                                                                   bluetooth_proxy_feature_flags=0x3F))
                elif isinstance(msg, pb.SubscribeBluetoothLEAdvertisementsRequest):
                    if self.args.garbage:
                        writer.write(b"\x00" + varint(1 << 20) + varint(93) + b"\x00" * 64)
                        await writer.drain()
                        await asyncio.sleep(5)
                        return
                    raw = bool(msg.flags & 1) and not self.args.legacy
                    if self.args.rate:
                        streaming = asyncio.ensure_future(self.paced(writer, noise))
                    else:
                        streaming = asyncio.ensure_future(self.stream(writer, noise, raw))
                elif isinstance(msg, pb.PingRequest):
                    self.send(writer, noise, pb.PingResponse())
                elif isinstance(msg, pb.DisconnectRequest):
                    self.send(writer, noise, pb.DisconnectResponse())
                    await writer.drain()
                    return
                await writer.drain()
        finally:
            if streaming:
                streaming.cancel()

    async def stream(self, writer, noise, raw):
        batch = []
        sent_here = 0
        while self.position < len(self.adverts):
            address, data = self.adverts[self.position]
            self.position += 1
            sent_here += 1
            ad = b"\x02\x01\x06" + bytes([len(data) + 3, 0xFF, 0xE1, 0x02]) + data
            batch.append((address, ad, data))
            if self.position % 50 == 0:
                batch.append((0x112233445566, b"\x02\x01\x06\x06\xff\x4c\x00\x10\x05\x0b", None))
            if len(batch) >= 16 or self.position == len(self.adverts):
                if raw:
                    m = pb.BluetoothLERawAdvertisementsResponse()
                    for a, ad_bytes, _ in batch:
                        m.advertisements.add(address=a, rssi=-67, address_type=1, data=ad_bytes)
                    self.send(writer, noise, m)
                else:
                    for a, _, d in batch:
                        m = pb.BluetoothLEAdvertisementResponse(address=a, rssi=-67, address_type=1)
                        if d is not None:
                            m.manufacturer_data.add(uuid="0x2e1", data=d)
                        self.send(writer, noise, m)
                batch = []
                await writer.drain()
                await asyncio.sleep(0.002)
            if self.args.drop_after and not self.dropped and sent_here >= self.args.drop_after:
                self.dropped = True
                writer.transport.abort()
                return

    async def paced(self, writer, noise):
        """One raw advert per message at --rate a second, timed against the clock."""
        period = 1.0 / self.args.rate
        due = time.monotonic()
        while self.args.loop or self.position < len(self.adverts):
            if self.position >= len(self.adverts):
                self.position = 0
            index = self.position
            address, data = self.adverts[index]
            self.position += 1
            m = pb.BluetoothLERawAdvertisementsResponse()
            ad = b"\x02\x01\x06" + bytes([len(data) + 3, 0xFF, 0xE1, 0x02]) + data
            m.advertisements.add(address=address, rssi=-67, address_type=1, data=ad)
            self.send(writer, noise, m)
            await writer.drain()
            if self.sent:
                print(index, time.time_ns(), file=self.sent, flush=True)
            due += period
            await asyncio.sleep(max(0.0, due - time.monotonic()))

    async def noise_frame(self, reader):
        head = await reader.readexactly(3)
        if head[0] != 0x01:
            raise ConnectionError("not a noise frame")
        return await reader.readexactly((head[1] << 8) | head[2])

    @staticmethod
    def noise_out(payload):
        return bytes((0x01, len(payload) >> 8, len(payload) & 0xFF)) + payload

    async def read(self, reader, noise, marker_read):
        if noise is None:
            if not marker_read and await reader.readexactly(1) != b"\x00":
                raise ConnectionError("not a plaintext frame")
            size = await self.read_varint(reader)
            kind = await self.read_varint(reader)
            return kind, await reader.readexactly(size)
        frame = await self.noise_frame(reader)
        plain = noise.decrypt(frame)
        kind = (plain[0] << 8) | plain[1]
        size = (plain[2] << 8) | plain[3]
        return kind, plain[4:4 + size]

    @staticmethod
    async def read_varint(reader):
        n, shift = 0, 0
        while True:
            b = (await reader.readexactly(1))[0]
            n |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return n

    def send(self, writer, noise, msg):
        body = msg.SerializeToString()
        kind = ID_OF[type(msg)]
        if noise is None:
            writer.write(b"\x00" + varint(len(body)) + varint(kind) + body)
        else:
            plain = bytes((kind >> 8, kind & 0xFF, len(body) >> 8, len(body) & 0xFF)) + body
            writer.write(self.noise_out(noise.encrypt(plain)))


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("port", type=int)
    p.add_argument("adverts")
    p.add_argument("--key")
    p.add_argument("--password")
    p.add_argument("--legacy", action="store_true")
    p.add_argument("--drop-after", type=int, default=0)
    p.add_argument("--garbage", action="store_true")
    p.add_argument("--log")
    p.add_argument("--rate", type=float, default=0)
    p.add_argument("--start", type=int, default=0)
    p.add_argument("--loop", action="store_true")
    p.add_argument("--sent")
    args = p.parse_args()
    device = Device(args)
    server = await asyncio.start_server(device.serve, "127.0.0.1", args.port)
    print("listening", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
