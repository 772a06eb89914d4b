"""Programs on a pseudo-terminal of a given width, as a person at a terminal runs them."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STYLES = re.compile(r"\x1b\[[0-9;]*m")


def plain(text: str) -> str:
    """``text`` without its styles (dim, bold, italic), line ends as ``\\n``."""
    return STYLES.sub("", text.replace("\r\n", "\n"))


class Terminal:
    """A process whose stdout and stderr are a terminal ``width`` columns wide, started now and
    read on a thread until it ends (``output()``)."""

    def __init__(self, argv: list[str], *, width: int = 80, env: dict | None = None):
        self.leader, follower = pty.openpty()
        fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, width, 0, 0))
        base = {
            k: v
            for k, v in os.environ.items()
            if k not in ("COLUMNS", "LINES", "NO_COLOR", "FORCE_COLOR")
        }
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=follower,
            stderr=follower,
            env={**base, "TERM": "xterm-256color", "PYTHONPATH": str(ROOT), **(env or {})},
        )
        os.close(follower)
        self.chunks: list[bytes] = []
        self.reader = threading.Thread(target=self._drain, daemon=True)
        self.reader.start()

    def _drain(self) -> None:
        while True:
            try:
                data = os.read(self.leader, 1 << 16)
            except OSError:  # the terminal closes when the process ends
                return
            if not data:
                return
            self.chunks.append(data)

    def output(self, timeout: float = 900) -> str:
        """Everything the process wrote, once it has ended (styles kept)."""
        try:
            self.proc.wait(timeout=timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            self.reader.join(timeout=10)
            os.close(self.leader)
        return b"".join(self.chunks).decode("utf-8", "replace").replace("\r\n", "\n")


def run_on_terminal(args: list[str], width: int = 80, env: dict | None = None) -> tuple[int, str]:
    """``symgrad ARGS`` on a terminal: its exit code and what it showed."""
    terminal = Terminal([sys.executable, "-m", "symgrad", *args], width=width, env=env)
    out = terminal.output(timeout=120)
    return terminal.proc.returncode, out
