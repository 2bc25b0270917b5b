"""A real ``mixdown serve`` in a child process on a free loopback port, for the server tests and benchmark."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

STARTUP_S = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """``mixdown serve --home HOME ARGS...``; its own process group, so that a kill takes its workers too."""

    def __init__(self, home: Path, *args: str, workers: int = 1) -> None:
        self.home = Path(home)
        self.args = [*args, "--workers", str(workers)]
        self.port = 0
        self.process: subprocess.Popen | None = None
        self.log = self.home.parent / f"{self.home.name}-server.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Server:
        self.port = free_port()
        command = [sys.executable, "-c", "import sys; from mixdown.cli import main; sys.exit(main())", "serve",
                   "--home", str(self.home), "--port", str(self.port), "--log-level", "warning", *self.args]
        handle = self.log.open("ab")
        self.process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True,
                                        env={**os.environ, "PYTHONUNBUFFERED": "1"})
        deadline = time.monotonic() + STARTUP_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited {self.process.returncode}: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"server did not start: {self.log.read_text()[-2000:]}")

    def alive(self) -> bool:
        try:
            return httpx.get(f"{self.url}/health", timeout=5).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        """SIGTERM (uvicorn shuts down and stops its workers), then SIGKILL for whatever is left."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=20)
        self.kill()

    def kill(self) -> None:
        """SIGKILL to the server and its workers at once: a crash."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=20)
        self.process = None

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def wait_for(client: httpx.Client, path: str, done, timeout: float = 180.0, every: float = 0.2) -> dict:
    """GET ``path`` until ``done(reply)``; returns the reply."""
    deadline = time.monotonic() + timeout
    while True:
        reply = client.get(path).json()
        if done(reply) or time.monotonic() > deadline:
            return reply
        time.sleep(every)
