"""Helpers for tests that run real processes on loopback: free ports, waiting, a fake Twilio API."""

from __future__ import annotations

import json
import socket
import subprocess
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.support import ACCOUNT_SID

ACCOUNT = ACCOUNT_SID  # the account the test requests come from


def free_port() -> int:
    """Return a loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(predicate, seconds: float, what: str) -> None:
    """Poll until the predicate holds, or fail naming what never happened."""
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def stop(processes, wait: float = 10) -> None:
    """Terminate processes, then kill any that has not exited after `wait` seconds."""
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(wait)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


class FakeTwilio(ThreadingHTTPServer):
    """Twilio's REST API on loopback: records every POST; answers at once, slowly, or with 500s."""

    daemon_threads = True

    def __init__(self, mode: str = "ok"):
        self.mode = mode
        self.messages: list[dict] = []
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), FakeTwilioHandler)

    @property
    def requests(self) -> int:
        return len(self.messages)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def start(self) -> FakeTwilio:
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class FakeTwilioHandler(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 - http.server's naming
        length = int(self.headers.get("Content-Length", 0))
        form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
        with self.server.lock:
            self.server.messages.append(form)
        if self.server.mode == "slow":
            time.sleep(3)
        if self.server.mode == "failing":
            status, body = 500, {"code": 20500, "message": "Internal Server Error", "status": 500}
        else:
            status, body = 201, {"sid": "SM" + uuid.uuid4().hex, "status": "queued", "account_sid": ACCOUNT}
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass
