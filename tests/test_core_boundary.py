"""The core never imports the UI: k3swiz stays usable headless and starts fast."""

import pkgutil
import subprocess
import sys

import k3swiz


def test_core_modules_do_not_import_textual_or_screens():
    modules = [f"k3swiz.{m.name}" for m in pkgutil.iter_modules(k3swiz.__path__)]
    assert len(modules) > 10
    code = ("import importlib, sys\n"
            f"for name in {modules!r}: importlib.import_module(name)\n"
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'screens'))\n"
            "print(','.join(bad))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""
