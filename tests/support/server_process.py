"""``mjrelay serve`` as a real subprocess: for tests that kill and restart the server."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

MJRELAY = str(Path(sys.executable).with_name("mjrelay"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def relay_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a CLI run: its own data dir, no config file, no initial key."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MJRELAY_")}
    env.update(
        {
            "MJRELAY_DATA_DIR": str(data_dir),
            "MJRELAY_CREATE_INITIAL_KEY": "false",
            "MJRELAY_AUTH_CACHE_SECONDS": "0",
            "MJRELAY_SWEEP_INTERVAL_SECONDS": "0.2",
        }
    )
    env.update(extra)
    return env


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [MJRELAY, *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


class ServerProcess:
    """One ``mjrelay serve`` process on a fixed port (so restarts keep the same base URL)."""

    def __init__(self, env: dict[str, str], port: int, log: Path) -> None:
        self.env = env
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        self._log = log
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self._log, "ab") as log:
            self._process = subprocess.Popen(
                [MJRELAY, "serve", "--port", str(self.port)],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"serve exited: {self._log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise TimeoutError(f"serve did not start: {self._log.read_text()[-2000:]}")

    def kill(self) -> None:
        """SIGKILL: no shutdown handlers run, like a crash or an OOM kill."""
        assert self._process is not None
        self._process.send_signal(signal.SIGKILL)
        self._process.wait(10)
        self._process = None

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(10)
        self._process = None
