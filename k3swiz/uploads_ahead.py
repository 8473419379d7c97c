"""Bundle uploads started right after pre-flight, while the server waves run.

The airgap bundle (k3s binary, images archive, install script) is the only big
thing k3swiz sends. Uploaded in each node's own write step, the agents' copies
would all start together once the last server is up: squarely on the critical
path. Started ahead, they travel while the servers install one by one, and an
agent's write step only waits for its own upload (usually long done) and
commits it. Uploads go to temp names or a staging folder (k3swiz.ssh_upload),
never to the live paths, so nothing on a node changes before its wave; a node
that is skipped gets its temps removed again.

Order: the first server's upload runs alone (its write step waits for it at
once), then the other servers' and the agents', a few at a time: uploads are
CPU-bound in paramiko, so more threads would only slow the servers' waves.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor, wait
from pathlib import Path

from .plan import Plan, WriteFiles
from .remote_script import RemoteFile, Upload
from .ssh import Transport
from .steps import remote_files

WORKERS = 4  # two cores' worth of encryption with room for round trips; more only adds contention


class UploadsAhead:
    """node name -> its upload running in the background; taken by the node's write step."""

    def __init__(self, concurrency: int) -> None:
        self._pool = ThreadPoolExecutor(max_workers=max(1, min(concurrency, WORKERS)),
                                        thread_name_prefix="k3swiz-upload")
        self._futures: dict[str, Future] = {}
        self._transports: dict[str, Transport] = {}
        self._lock = threading.Lock()

    def start(self, plan: Plan, transports: dict[str, Transport]) -> None:
        """Queue every node's bundle in wave order; the others wait until the first one is sent."""
        head: Future | None = None
        for node_plan in plan.node_plans():
            write = next((s for s in node_plan.steps if isinstance(s, WriteFiles)), None)
            files = remote_files(write) if write else []
            if not any(isinstance(f.content, Path) for f in files):
                continue
            name = node_plan.node.name
            self._transports[name] = transports[name]
            future = self._pool.submit(_upload_after, head, transports[name], files)
            with self._lock:
                self._futures[name] = future
            head = head or future

    def take(self, node: str) -> Upload | None:
        """The node's finished upload (waiting for it); None when nothing was sent ahead.

        Re-raises the upload's error (e.g. ConnectionLost: the link dropped meanwhile)."""
        with self._lock:
            future = self._futures.pop(node, None)
        return future.result() if future is not None else None

    def close(self) -> None:
        """Drop the uploads not yet started; remove those no write step took (skipped nodes)."""
        self._pool.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            left, self._futures = self._futures, {}
        for node, future in left.items():
            if future.cancelled() or future.exception() is not None:
                continue  # nothing usable arrived; a later write of the node removes stale temps
            if future.result() is not None:
                self._transports[node].discard(future.result())


def _upload_after(head: Future | None, transport: Transport, files: list[RemoteFile]) -> Upload | None:
    if head is not None:
        wait([head])  # the first server's upload goes alone: its write step is already waiting for it
    return transport.upload(files)
