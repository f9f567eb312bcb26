"""A real kernel process, started as Jupyter starts one for a notebook (its environment
gives the notebook's path), that tests run cells in and can kill."""

from __future__ import annotations

import os
import signal
import time
import uuid
from pathlib import Path

from jupyter_client.manager import KernelManager


class RealKernel:
    """Runs cells like a notebook front end; collects each cell's streams and rich
    outputs."""

    def __init__(self, env: dict[str, str], runtime: Path) -> None:
        """A kernel with ``env`` added; its connection file in ``runtime``, named as
        Jupyter's server names it (``kernel-<id>.json``)."""
        self.kernel_id = str(uuid.uuid4())
        connection = runtime / f"kernel-{self.kernel_id}.json"
        self.manager = KernelManager(kernel_name="python3", connection_file=str(connection))
        self.manager.start_kernel(env={**os.environ, **env})
        self.client = self.manager.client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=90)

    @property
    def pid(self) -> int:
        return self.manager.provisioner.process.pid

    def run(self, code: str) -> dict:
        """Execute ``code``; the reply's content, with ``streams`` (name, text) and
        ``outputs`` (the data of each display or result)."""
        streams: list[tuple[str, str]] = []
        outputs: list[dict] = []

        def hook(msg: dict) -> None:
            if msg["msg_type"] == "stream":
                streams.append((msg["content"]["name"], msg["content"]["text"]))
            elif msg["msg_type"] in ("display_data", "execute_result"):
                outputs.append(msg["content"]["data"])

        reply = self.client.execute_interactive(code, timeout=90, output_hook=hook)
        return {**reply["content"], "streams": streams, "outputs": outputs}

    def out(self, code: str) -> str:
        """The cell's stdout; the cell must succeed."""
        reply = self.run(code)
        assert reply["status"] == "ok", reply
        return "".join(text for name, text in reply["streams"] if name == "stdout")

    def kill(self) -> None:
        """SIGKILL the kernel process, as the OOM killer or a crash would, and wait until
        it is gone."""
        os.kill(self.pid, signal.SIGKILL)
        self.manager.provisioner.process.wait()
        while self.manager.is_alive():
            time.sleep(0.05)

    def close(self) -> None:
        self.client.stop_channels()
        try:
            self.manager.shutdown_kernel(now=True)
        except Exception:  # a killed kernel: only its files are left to clean
            self.manager.cleanup_resources()
