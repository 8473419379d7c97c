"""Day-2 commands (reset, upgrade, etcd, adopt, export) registered on the main parser.

Kept apart from cli.py so these commands grow without touching the core CLI.
`register(command)` adds subparsers through cli.py's `command(name, help, example)`
factory and returns {command name: handler(args) -> exit code}.
"""

from __future__ import annotations


def register(command) -> dict:
    return {}
