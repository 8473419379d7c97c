"""The wizard in a real terminal: tmux runs `k3swiz --answers FILE`, we type with send-keys and
read the screen with capture-pane, polling each expected text with a deadline (no sleeps).

Also measures the time from launch to the first step painted, beside `python -c "import textual"`.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(90)
TMUX = shutil.which("tmux")


class Terminal:
    """One tmux server on its own socket, one 100x32 window."""

    def __init__(self, folder: Path) -> None:
        self.socket = str(folder / "tmux.sock")

    def tmux(self, *args: str) -> str:
        return subprocess.run([TMUX, "-S", self.socket, "-f", "/dev/null", *args],
                              capture_output=True, text=True, check=True).stdout

    def start(self, command: str) -> None:
        self.tmux("new-session", "-d", "-x", "100", "-y", "32", command)

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p")

    def keys(self, *keys: str, literal: bool = False) -> None:
        self.tmux("send-keys", *(["-l"] if literal else []), *keys)

    def wait_for(self, text: str, deadline: float = 20.0) -> float:
        """Seconds until `text` is on the screen; fails with the screen shown after `deadline`."""
        start = time.monotonic()
        while time.monotonic() - start < deadline:
            if text in self.screen():
                return time.monotonic() - start
            time.sleep(0.02)  # polling interval of the condition, not a wait for an event
        raise AssertionError(f"{text!r} did not appear within {deadline}s; the screen:\n{self.screen()}")

    def type_until_shown(self, text: str, attempts: int = 5) -> int:
        """Clear the focused field and type `text` until the screen shows it; returns the attempts.

        Keys sent in the first moments after the first paint can be lost while the terminal
        still answers the app's start-up queries; a person retypes, and so do we.
        """
        for attempt in range(1, attempts + 1):
            self.keys("C-u")
            self.keys(text, literal=True)
            try:
                self.wait_for(f" {text}", deadline=2.0)
                return attempt
            except AssertionError:
                continue
        raise AssertionError(f"{text!r} never showed after {attempts} attempts:\n{self.screen()}")

    def stop(self) -> None:
        subprocess.run([TMUX, "-S", self.socket, "kill-server"], capture_output=True)


def wait_for_file(path: Path, deadline: float = 20.0) -> None:
    start = time.monotonic()
    while not path.exists():
        assert time.monotonic() - start < deadline, f"{path} was not written within {deadline}s"
        time.sleep(0.02)  # polling interval


def k3swiz_command() -> str:
    found = shutil.which("k3swiz")
    return shlex.quote(found) if found else f"{shlex.quote(sys.executable)} -m k3swiz.cli"


@pytest.mark.skipif(TMUX is None, reason="tmux is not installed (tests/run.sh installs it)")
def test_wizard_in_tmux_saves_answers_and_quits_with_130(tmp_path, record_property):
    answers, rc_file = tmp_path / "e2e.k3swiz.yaml", tmp_path / "rc"
    term = Terminal(tmp_path)
    command = (f"cd {shlex.quote(str(tmp_path))} && {k3swiz_command()} --answers {shlex.quote(str(answers))}; "
               f"echo $? > {shlex.quote(str(rc_file))}")
    try:
        launched = time.monotonic()
        term.start(command)
        term.wait_for("1. Cluster")
        first_paint = time.monotonic() - launched
        attempts = term.type_until_shown("e2e")
        term.keys("Enter")                                  # Enter = Next
        term.wait_for("2. Version")
        term.keys("C-s")
        term.wait_for("Save answers")
        term.keys("Enter")                                  # the dialog offers the --answers path
        wait_for_file(answers)
        term.wait_for("Saved")
        term.keys("C-q")                                    # saved: quits without asking
        wait_for_file(rc_file)
    finally:
        term.stop()
    assert rc_file.read_text().strip() == "130"
    text = answers.read_text()
    assert "name: e2e" in text and "apiVersion: k3swiz/v1" in text
    import_textual = measure_import_textual()
    record_property("launch_to_first_paint_s", round(first_paint, 3))
    record_property("python_import_textual_s", round(import_textual, 3))
    record_property("typing_attempts", attempts)
    print(f"\nlaunch to first paint: {first_paint:.3f}s; python -c 'import textual': {import_textual:.3f}s; "
          f"typed the name {attempts} time(s)")
    # No bound on first_paint here: the goal (< 0.6 s) holds on an idle machine, and a busy CI
    # box stretches it; wait_for's deadline already fails a wizard that never paints.


def measure_import_textual() -> float:
    start = time.monotonic()
    subprocess.run([sys.executable, "-c", "import textual"], check=True, env={**os.environ})
    return time.monotonic() - start
