"""A throwaway Mosquitto broker per test, with persistence, that a test can stop and restart.

Use it from a test module (list it in ``__all__`` so the import counts as used)::

    from tests.services.mosquitto import Mosquitto, mosquitto

    __all__ = ["mosquitto"]

    def test_something(mosquitto: Mosquitto) -> None:
        url = mosquitto.url          # mqtt://127.0.0.1:PORT
        mosquitto.stop()             # SIGTERM: the broker saves its sessions and queued messages
        mosquitto.start()            # same port, same persistence file

The broker listens on 127.0.0.1 on a free port, keeps its persistence file in the test's
temporary folder (``autosave_interval 1``, so QoS 1 messages queued for persistent sessions
survive a restart; up to 100000 queued per client), and is stopped at teardown even when
the test fails. Tests are skipped when ``/usr/sbin/mosquitto`` (Debian package
``mosquitto``) is not installed.
"""

from __future__ import annotations

import getpass
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

__all__ = ["MOSQUITTO", "Mosquitto", "free_port", "mosquitto"]

MOSQUITTO = Path("/usr/sbin/mosquitto")
HOST = "127.0.0.1"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


class Mosquitto:
    """One broker process at a time, on a fixed port, with its files in ``directory``."""

    def __init__(self, directory: Path, port: int | None = None) -> None:
        self.directory = directory
        self.port = port or free_port()
        self.config = directory / "mosquitto.conf"
        self.log_path = directory / "mosquitto.log"
        self._process: subprocess.Popen[bytes] | None = None
        directory.mkdir(parents=True, exist_ok=True)
        # "user" is only used when started as root: stay root so the temporary folder (owned
        # by root) stays writable, instead of switching to the "mosquitto" user.
        self.config.write_text(
            f"listener {self.port} {HOST}\n"
            "allow_anonymous true\n"
            "persistence true\n"
            f"persistence_location {directory}/\n"
            "autosave_interval 1\n"
            "max_queued_messages 100000\n"
            f"user {getpass.getuser()}\n"
            f"log_dest file {self.log_path}\n"
            "log_type error\nlog_type warning\nlog_type notice\nlog_type information\n",
            encoding="utf-8",
        )

    @property
    def url(self) -> str:
        return f"mqtt://{HOST}:{self.port}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def log(self) -> str:
        """The broker's log so far (for assertion messages)."""
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def start(self, timeout: float = 10.0) -> None:
        """Start the broker and wait (at most ``timeout`` s) until it accepts connections."""
        if self.running:
            raise RuntimeError("mosquitto: already running")
        self._process = subprocess.Popen(
            [str(MOSQUITTO), "-c", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(
                    f"mosquitto exited with {self._process.returncode}:\n{self.log()}"
                )
            try:
                with socket.create_connection((HOST, self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise TimeoutError(f"mosquitto: port {self.port} not open after {timeout} s\n{self.log()}")

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM (the broker saves its persistence file), wait; SIGKILL after ``timeout``."""
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout)
        self._process = None


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    """A running broker for one test, stopped at teardown."""
    if not MOSQUITTO.exists():
        pytest.skip(f"{MOSQUITTO} is not installed (Debian package mosquitto)")
    broker = Mosquitto(tmp_path / "mosquitto")
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()
