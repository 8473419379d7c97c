"""Apply events and the run journal: one folder per run, a log per node, events as JSONL.

Everything written here passes through the masker first, so a token or sudo
password that slipped into a command's output never reaches the disk.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .secrets import Secret, mask_text

PENDING, RUNNING, DONE, FAILED, SKIPPED = "pending", "running", "done", "failed", "skipped"


@dataclass(frozen=True)
class Event:
    node: str            # node name, or "" for the run as a whole
    phase: str           # connect, facts, write files, install k3s, wait, kubeconfig, ...
    state: str           # pending | running | done | failed | skipped
    message: str = ""
    elapsed: float = 0.0  # seconds since the node's first step started
    time: float = field(default_factory=time.time)


def state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or os.path.expanduser("~/.local/state")
    return Path(base) / "k3swiz"


class Journal:
    """Thread-safe writer of one run's folder."""

    def __init__(self, folder: Path, secrets: list[Secret]) -> None:
        self.folder = folder
        self._secrets = [s for s in secrets if s]
        self._lock = threading.Lock()
        (folder / "nodes").mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(folder, 0o700)
        self._events = self._open(folder / "events.jsonl")

    @classmethod
    def create(cls, cluster: str, secrets: list[Secret], root: Path | None = None) -> "Journal":
        root = root or state_dir() / "runs"
        stamp = time.strftime("%Y%m%d-%H%M%S")
        folder = root / f"{cluster}-{stamp}"
        n = 1
        while folder.exists():
            n += 1
            folder = root / f"{cluster}-{stamp}-{n}"
        return cls(folder, secrets)

    def mask(self, text: str) -> str:
        return mask_text(text, self._secrets)

    def event(self, event: Event) -> None:
        record = {k: (self.mask(v) if isinstance(v, str) else v) for k, v in asdict(event).items()}
        with self._lock:
            self._events.write(json.dumps(record) + "\n")
            self._events.flush()

    def node_log(self, node: str, text: str) -> None:
        line = f"{time.strftime('%H:%M:%S')} {self.mask(text).rstrip()}\n"
        with self._lock:
            with self._open(self.folder / "nodes" / f"{node}.log", "a") as out:
                out.write(line)

    def write_summary(self, summary: dict) -> None:
        with self._lock, self._open(self.folder / "summary.json", "w") as out:
            out.write(self.mask(json.dumps(summary, indent=2)) + "\n")

    def close(self) -> None:
        with self._lock:
            self._events.close()

    @staticmethod
    def _open(path: Path, mode: str = "a"):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | (os.O_APPEND if mode == "a" else os.O_TRUNC), 0o600)
        return os.fdopen(fd, mode, encoding="utf-8")


def read_events(folder: Path) -> list[dict]:
    path = folder / "events.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
