#!/usr/bin/env python3
"""Meshtastic messages made at test time by the official Python package (PyPI `meshtastic`,
its generated protobuf modules), so that Halyard's hand-written schema (src/mesh/proto.rs) is
checked against the upstream definitions rather than against bytes it produced itself.

    meshtastic_official.py vectors OUT_DIR [--seed N]
        Random nodes and packets (every field Halyard reads, over its whole range: node numbers
        above 2^31, negative coordinates and RSSI, float SNR, hop_start 0 and not, names in any
        script) written as the stream API (`stream.bin`: 0x94 0xC3 framing, debug text between
        frames, config and channel messages Halyard skips), as MQTT ServiceEnvelopes
        (`envelopes.jsonl`) and, for each, the official package's own reading of it
        (`expected.jsonl`, google.protobuf.json_format with the proto field names).

    meshtastic_official.py radio PORT_FILE OUT_DIR
        A radio on TCP (loopback, a free port written to PORT_FILE): reads the client's framed
        ToRadio messages with the official ToRadio, answers `want_config_id` with my_info, the
        node database of OUT_DIR's vectors, config and channels, `config_complete_id` equal to
        the id asked, then the vectors' packets; on disconnect prints what the client sent, as
        JSON (which variants, the id asked, the text packets read with the official MeshPacket),
        and exits. Each text packet is also appended to OUT_DIR/texts.jsonl as it arrives.
"""

import json
import random
import socket
import struct
import sys
import time
from pathlib import Path

from google.protobuf import json_format
from meshtastic.protobuf import channel_pb2, config_pb2, mesh_pb2, mqtt_pb2, portnums_pb2, telemetry_pb2

START1, START2 = 0x94, 0xC3
BROADCAST = 0xFFFFFFFF
OUR_NODE = 0x0B0A7001
NAMES = ["Lille Øe dinghy", "Crew Ана", "Hill node 山", "Kayak 🛶", "Mooring buoy", "Jib", "Ω tender", "Rødby pier"]


def frame(message):
    body = message.SerializeToString()
    return bytes([START1, START2]) + struct.pack(">H", len(body)) + body


def as_dict(message):
    return json_format.MessageToDict(message, preserving_proto_field_name=True, use_integers_for_enums=True)


def vectors(out, seed):
    rng = random.Random(seed)
    nums = [rng.randrange(1, 2**32 - 1) for _ in range(6)] + [0x80000001, 0xFFFFFFFE]
    t0 = 1_780_000_000 + rng.randrange(10_000_000)
    rx = t0
    messages = []  # (kind, FromRadio, inner message or text, topic)

    def position():
        p = mesh_pb2.Position()
        p.latitude_i = rng.randrange(-900_000_000, 900_000_000)
        p.longitude_i = rng.randrange(-1_800_000_000, 1_800_000_000)
        p.altitude = rng.randrange(-400, 9000)
        p.time = rx - rng.randrange(0, 30)
        p.timestamp = p.time
        p.ground_speed = rng.randrange(0, 40)
        p.sats_in_view = rng.randrange(0, 24)
        p.precision_bits = rng.choice([0, 13, 32])
        return p

    def user(num, i):
        u = mesh_pb2.User()
        u.id = f"!{num:08x}"
        u.long_name = NAMES[i % len(NAMES)]
        u.short_name = u.long_name[:2] + f"{i:02d}"
        u.hw_model = rng.choice([mesh_pb2.HardwareModel.Value(n) for n in ("TBEAM", "HELTEC_V3", "RAK4631", "T_ECHO")])
        u.role = rng.choice([config_pb2.Config.DeviceConfig.Role.Value(n) for n in ("CLIENT", "ROUTER", "TRACKER")])
        return u

    def device_metrics():
        d = telemetry_pb2.DeviceMetrics()
        d.battery_level = rng.choice([rng.randrange(0, 101), 101])
        d.voltage = rng.uniform(3.0, 4.3)
        d.channel_utilization = rng.uniform(0, 60)
        d.air_util_tx = rng.uniform(0, 10)
        d.uptime_seconds = rng.randrange(0, 2**31)
        return d

    # The radio's node database (what want_config sends).
    for i, num in enumerate(nums):
        n = mesh_pb2.NodeInfo()
        n.num = num
        n.user.CopyFrom(user(num, i))
        n.position.CopyFrom(position())
        n.snr = rng.uniform(-20, 12)
        n.last_heard = t0 - rng.randrange(0, 3600)
        n.device_metrics.CopyFrom(device_metrics())
        n.via_mqtt = rng.random() < 0.2
        n.hops_away = rng.randrange(0, 4)
        messages.append(("node_info", mesh_pb2.FromRadio(node_info=n), None, None))

    # Packets heard afterwards.
    for k in range(60):
        rx += rng.randrange(1, 120)
        i = rng.randrange(len(nums))
        p = mesh_pb2.MeshPacket()
        setattr(p, "from", nums[i])
        p.to = rng.choice([BROADCAST, OUR_NODE])
        p.channel = rng.randrange(0, 8)
        p.id = rng.randrange(1, 2**32)
        p.rx_time = rx
        p.rx_snr = rng.uniform(-20, 12)
        p.rx_rssi = rng.randrange(-135, -20)
        p.hop_start = rng.choice([0, 3, 7])
        p.hop_limit = rng.randrange(0, p.hop_start + 1)
        p.via_mqtt = rng.random() < 0.1
        what = rng.choice(["position", "nodeinfo", "device", "environment", "range", "text", "encrypted"])
        inner = None
        if what == "encrypted":
            p.encrypted = rng.randbytes(rng.randrange(8, 64))
        else:
            if what == "position":
                inner, port = position(), "POSITION_APP"
            elif what == "nodeinfo":
                inner, port = user(nums[i], i), "NODEINFO_APP"
            elif what == "device":
                inner, port = telemetry_pb2.Telemetry(time=rx), "TELEMETRY_APP"
                inner.device_metrics.CopyFrom(device_metrics())
            elif what == "environment":
                inner, port = telemetry_pb2.Telemetry(time=rx), "TELEMETRY_APP"
                e = inner.environment_metrics
                e.temperature = rng.uniform(-30, 45)
                e.relative_humidity = rng.uniform(0, 100)
                e.barometric_pressure = rng.uniform(950, 1050)
                e.wind_direction = rng.randrange(0, 360)
                e.wind_speed = rng.uniform(0, 30)
                e.wind_gust = e.wind_speed + rng.uniform(0, 10)
                e.wind_lull = e.wind_speed * rng.uniform(0, 1)
            elif what == "range":
                inner, port = f"seq {k}", "RANGE_TEST_APP"
            else:
                inner, port = rng.choice(["Dinner at 8 ⛵", "ok", "Where are you?"]), "TEXT_MESSAGE_APP"
            p.decoded.portnum = portnums_pb2.PortNum.Value(port)
            p.decoded.payload = inner.encode() if isinstance(inner, str) else inner.SerializeToString()
        messages.append((what, mesh_pb2.FromRadio(packet=p), inner, None))

    out.mkdir(parents=True, exist_ok=True)
    with open(out / "expected.jsonl", "w") as e, open(out / "envelopes.jsonl", "w") as env:
        for kind, m, inner, _ in messages:
            line = {"kind": kind, "message": as_dict(m)}
            if inner is not None:
                line["inner"] = inner if isinstance(inner, str) else as_dict(inner)
            if m.HasField("packet") and m.packet.HasField("encrypted"):
                line["encrypted_hex"] = m.packet.encrypted.hex()
            e.write(json.dumps(line, ensure_ascii=False) + "\n")
            if m.HasField("packet"):
                gateway = f"!{nums[0]:08x}"
                s = mqtt_pb2.ServiceEnvelope(channel_id="LongFast", gateway_id=gateway)
                s.packet.CopyFrom(m.packet)
                topic = f"msh/EU_868/2/e/LongFast/{gateway}"
                env.write(json.dumps({"topic": topic, "payload_hex": s.SerializeToString().hex(), "envelope": as_dict(s)}, ensure_ascii=False) + "\n")
    # The stream: node database, then the packets, debug lines between some frames.
    stream = bytearray()
    for n, (_, m, _, _) in enumerate(messages):
        if n % 7 == 3:
            stream += f"DEBUG | 12:00:{n % 60:02d} {n} [Router] Received packet from 0x{rng.randrange(2**32):08x}\r\n".encode()
        stream += frame(m)
    (out / "stream.bin").write_bytes(bytes(stream))
    (out / "nodes.json").write_text(json.dumps({"our_node": OUR_NODE, "nodes": nums, "start": t0}))


def read_frame(conn):
    """The next framed message from the client, skipping anything between frames."""
    while True:
        b = conn.recv(1)
        if not b:
            return None
        if b[0] != START1:
            continue
        if conn.recv(1) != bytes([START2]):
            continue
        head = conn.recv(2, socket.MSG_WAITALL)
        (length,) = struct.unpack(">H", head)
        return conn.recv(length, socket.MSG_WAITALL) if length else b""


def radio(port_file, out):
    server = socket.create_server(("127.0.0.1", 0))
    Path(port_file).write_text(str(server.getsockname()[1]))
    server.settimeout(60)
    conn, _ = server.accept()
    conn.settimeout(120)
    said = {"variants": [], "want_config_id": None, "packets_sent_to_mesh": 0}
    stream = []
    for line in open(out / "expected.jsonl"):
        m = mesh_pb2.FromRadio()
        json_format.ParseDict(json.loads(line)["message"], m)
        stream.append(m)
    try:
        while (body := read_frame(conn)) is not None:
            m = mesh_pb2.ToRadio.FromString(body)
            variant = m.WhichOneof("payload_variant")
            said["variants"].append(variant)
            said["packets_sent_to_mesh"] += variant == "packet"
            if variant == "packet" and m.packet.decoded.portnum == portnums_pb2.PortNum.TEXT_MESSAGE_APP:
                p = m.packet
                text = {"at": time.time(), "to": p.to, "channel": p.channel, "want_ack": p.want_ack, "hop_limit": p.hop_limit,
                        "id": p.id, "text": p.decoded.payload.decode("utf-8")}
                said.setdefault("texts", []).append(text)
                with open(out / "texts.jsonl", "a") as f:
                    f.write(json.dumps(text) + "\n")
            if variant != "want_config_id":
                continue
            asked = m.want_config_id
            said["want_config_id"] = asked
            nodes = json.loads((out / "nodes.json").read_text())
            reply = [mesh_pb2.FromRadio(my_info=mesh_pb2.MyNodeInfo(my_node_num=nodes["our_node"]))]
            reply += [x for x in stream if x.HasField("node_info")]
            reply.append(mesh_pb2.FromRadio(config=config_pb2.Config(lora=config_pb2.Config.LoRaConfig(region=config_pb2.Config.LoRaConfig.RegionCode.Value("EU_868")))))
            reply.append(mesh_pb2.FromRadio(channel=channel_pb2.Channel(index=0, role=channel_pb2.Channel.Role.Value("PRIMARY"))))
            reply.append(mesh_pb2.FromRadio(config_complete_id=asked))
            reply += [x for x in stream if x.HasField("packet")]
            conn.sendall(b"".join(frame(x) for x in reply))
    except (ConnectionResetError, TimeoutError):
        pass
    print(json.dumps(said))


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "vectors":
        seed = int(sys.argv[sys.argv.index("--seed") + 1]) if "--seed" in sys.argv else 1
        vectors(Path(sys.argv[2]), seed)
    elif len(sys.argv) == 4 and sys.argv[1] == "radio":
        radio(sys.argv[2], Path(sys.argv[3]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
