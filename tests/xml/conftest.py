"""Traps for the XML tests: a local TCP listener that records every connection, and a file holding a
secret. A hostile document that made the parser or the schema loader reach out would show up here."""

from __future__ import annotations

import secrets
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest


class Listener:
    def __init__(self) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._sock.settimeout(0.05)
        self.port: int = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.received: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="xml-test-listener", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(0.5)
                try:
                    self.received.append(conn.recv(4096) or b"<connected, nothing sent>")
                except OSError:
                    self.received.append(b"<connected>")

    def connections(self, grace_s: float = 0.3) -> list[bytes]:
        # A fetch could in principle run on a thread of its own; give it time to arrive.
        time.sleep(grace_s)
        return list(self.received)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self._sock.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    trap = Listener()
    try:
        yield trap
    finally:
        trap.close()


@pytest.fixture
def secret_file(tmp_path: Path) -> tuple[Path, str]:
    secret = f"SECRET-{secrets.token_hex(16)}"
    path = tmp_path / "secret.txt"
    path.write_text(secret)
    return path, secret
