#!/usr/bin/env python3
"""Real receivers for the notifiers' tests, on loopback: an HTTP server (Python's http.server,
playing ntfy and a webhook) and an SMTP server (aiosmtpd, Debian python3-aiosmtpd).

    notify_receivers.py OUT_DIR

Writes OUT_DIR/ports.json ({"http": N, "smtp": N}) when both listen, then appends what they
receive, as it arrives, to OUT_DIR/http.jsonl ({"at", "path", "headers", "body"}; headers
lower-cased) and OUT_DIR/smtp.jsonl ({"at", "from", "to", "login", "message"}). HTTP paths
starting /fail answer 500. Runs until killed.
"""
import json
import logging
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

OUT = Path(sys.argv[1])
logging.getLogger("mail.log").setLevel(logging.ERROR)  # aiosmtpd's own deprecation notice
lock = threading.Lock()


def record(name, entry):
    with lock, open(OUT / name, "a") as f:
        f.write(json.dumps(entry) + "\n")


class Http(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        record("http.jsonl", {"at": time.time(), "path": self.path,
                              "headers": {k.lower(): v for k, v in self.headers.items()},
                              "body": body.decode("utf-8")})
        status = 500 if self.path.startswith("/fail") else 200
        self.send_response(status)
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


class Mail:
    async def handle_DATA(self, server, session, envelope):
        data = session.auth_data if session.authenticated else None
        login = data.login.decode() if isinstance(data, LoginPassword) else None
        record("smtp.jsonl", {"at": time.time(), "from": envelope.mail_from, "to": envelope.rcpt_tos,
                              "login": login, "message": envelope.content.decode("utf-8", "replace")})
        return "250 OK"


def authenticate(server, session, envelope, mechanism, data):
    ok = isinstance(data, LoginPassword) and data.login == b"boat" and data.password == b"s3cret"
    return AuthResult(success=ok, auth_data=data)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    http = ThreadingHTTPServer(("127.0.0.1", 0), Http)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    smtp_port = free_port()
    smtp = Controller(Mail(), hostname="127.0.0.1", port=smtp_port, authenticator=authenticate,
                      auth_require_tls=False)
    smtp.start()
    (OUT / "ports.json").write_text(json.dumps({"http": http.server_address[1], "smtp": smtp_port}))
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
