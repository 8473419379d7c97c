"""Questions the SSH layer asks a person while a worker runs: an unknown host key, a sudo password.

The core calls these callbacks from whatever thread meets the question: the worker itself, or
one of the engine's fan-out threads (which carry no Textual worker context). So waiting here
never relies on `get_current_worker()`: it polls its own stop condition and whether the app
still runs, and returns the "no" answer when nobody is left to ask.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from k3swiz.secrets import Secret

POLL_SECONDS = 0.2   # how often a waiting thread checks that it should still wait


class Prompter:
    """Shows a modal on the UI thread for a background thread and hands back the answer."""

    def __init__(self, app, stopped: Callable[[], bool] = lambda: False) -> None:
        self.app = app
        self.stopped = stopped

    def ask(self, make_dialog: Callable[[], Any], default):
        """push_screen(make_dialog()) from this (non-UI) thread; wait for its dismiss value."""
        answered = threading.Event()
        box = {"value": default}

        def done(value) -> None:
            box["value"] = value
            answered.set()
        try:
            self.app.call_from_thread(self.app.push_screen, make_dialog(), done)
        except RuntimeError:   # the app has exited: nobody to ask
            return default
        while not answered.wait(POLL_SECONDS):
            if self.stopped() or not self.app.is_running:
                return default
        return box["value"]

    def ask_host_key(self, unknown) -> bool:
        from .apply_bridge import host_key_fingerprint
        from .dialogs import HostKeyDialog
        node = getattr(unknown, "node", "?")
        return bool(self.ask(lambda: HostKeyDialog(node, host_key_fingerprint(unknown)), False))

    def ask_sudo_password(self, prompt: str) -> Secret | None:
        from .dialogs import SudoPasswordDialog
        return self.ask(lambda: SudoPasswordDialog(prompt), None)

    def access(self):
        """The core's Access for one action (a probe, a compare, a day-2 run): asks once per action."""
        from k3swiz.connect import Access
        return Access(ask_host_key=self.ask_host_key, ask_sudo_password=self.ask_sudo_password)
