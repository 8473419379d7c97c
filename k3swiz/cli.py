"""`k3swiz` command line: argparse in, rich out, exit codes 0 / 1 / 2 / 130.

Each command is a small function over the core. The wizard (Textual) is only
imported when it is opened, so scripted commands start fast.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

from . import __version__
from .cli_day2 import register as register_day2
from .journal import state_dir
from .problems import InputError, Problem

EXIT_OK, EXIT_NODE_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130
DAY2_HANDLERS: dict = {}

EPILOG = """\
examples:
  k3swiz                                   open the wizard
  k3swiz --answers homelab.k3swiz.yaml     the wizard, prefilled; opens on the first missing step
  k3swiz validate homelab.k3swiz.yaml      check a file; every problem with its line
  k3swiz plan homelab.k3swiz.yaml --out plan/   what would be written and run, per node
  k3swiz replay homelab.k3swiz.yaml --dry-run   the plan, touching nothing
  k3swiz replay homelab.k3swiz.yaml --yes       apply over SSH with no questions
  k3swiz versions                          k3s releases, features by version, Alpine packages, ports

exit codes: 0 ok, 1 a node failed, 2 bad input, 130 interrupted
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="k3swiz", description="Bootstrap k3s clusters over SSH: a wizard, and replays of its answers.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--answers", metavar="FILE", help="open the wizard prefilled from FILE")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of unexpected errors")
    parser.add_argument("--version", action="version", version=f"k3swiz {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, help_: str, example: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_, description=help_, epilog=f"example:\n  {example}",
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        p.add_argument("--debug", action="store_true", help="show tracebacks of unexpected errors")
        return p

    p = command("replay", "validate, plan and apply an answers file over SSH (no UI)",
                "k3swiz replay homelab.k3swiz.yaml --yes --concurrency 20")
    p.add_argument("file", type=Path, help="answers file")
    p.add_argument("--dry-run", action="store_true", help="print the plan and touch nothing")
    p.add_argument("--yes", "-y", action="store_true", help="do not ask before changing nodes")
    p.add_argument("--only", action="append", metavar="NODE", default=[], help="only this node (repeatable)")
    p.add_argument("--concurrency", type=int, default=10, metavar="N", help="agents set up at once (default 10)")
    p.add_argument("--accept-new-hosts", action="store_true",
                   help="record unknown host keys in known_hosts (like OpenSSH accept-new); changed keys are always refused")
    p.add_argument("--sudo-password-env", metavar="VAR", help="read the sudo password from environment variable VAR")
    p.add_argument("--merge-kubeconfig", action="store_true", help="merge the kubeconfig into ~/.kube/config (after a backup)")
    p.add_argument("--use-context", action="store_true", help="with --merge-kubeconfig: switch current-context to the cluster")
    p.add_argument("--strict", action="store_true", help="treat warnings as errors")

    p = command("plan", "render every node's files and steps to a folder; no network",
                "k3swiz plan homelab.k3swiz.yaml --out plan/  (then: cat plan/cp1/steps.sh)")
    p.add_argument("file", type=Path, help="answers file")
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="folder to write DIR/<node>/... into")

    p = command("validate", "check an answers file and print every problem with its place",
                "k3swiz validate homelab.k3swiz.yaml --strict")
    p.add_argument("file", type=Path, help="answers file")
    p.add_argument("--strict", action="store_true", help="treat warnings as errors")

    p = command("versions", "the version catalog: k3s minors, features, Alpine packages, ports",
                "k3swiz versions --json | jq '.minors[-1]'")
    p.add_argument("--json", action="store_true", help="machine-readable output")

    command("token", "print a new random cluster token", "k3swiz token > homelab.token && chmod 600 homelab.token")
    command("schema", "print the JSON Schema of answers files (for editors)",
            "k3swiz schema > k3swiz.schema.json")
    DAY2_HANDLERS.update(register_day2(command))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # paramiko logs handshake tracebacks at ERROR; our own errors already say what went wrong.
    logging.getLogger("paramiko").setLevel(logging.CRITICAL + 1)
    try:
        return dispatch(args)
    except InputError as exc:
        print_problems(exc.problems)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("k3swiz: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - the one place unexpected errors become a clear line
        if getattr(args, "debug", False):
            traceback.print_exc()
        else:
            log = _write_crash_log()
            print(f"k3swiz: unexpected error: {type(exc).__name__}: {exc}\n"
                  f"  the traceback is in {log}; run again with --debug to see it", file=sys.stderr)
        return EXIT_NODE_FAILED


def dispatch(args: argparse.Namespace) -> int:
    handlers = {None: cmd_wizard, "replay": cmd_replay, "plan": cmd_plan, "validate": cmd_validate,
                "versions": cmd_versions, "token": cmd_token, "schema": cmd_schema, **DAY2_HANDLERS}
    return handlers[args.command](args)


def print_problems(problems: list[Problem]) -> None:
    errors = [p for p in problems if p.is_error]
    for p in problems:
        print(p.format(), file=sys.stderr)
    if errors:
        print(f"{len(errors)} error(s): nothing was changed", file=sys.stderr)


def load_valid(path: Path, strict: bool = False):
    """Load + validate, raising InputError with every problem; warnings are printed and returned."""
    from .answers import load_answers
    from .validate import validate
    loaded = load_answers(path)
    problems = validate(loaded)
    failing = problems if strict else [p for p in problems if p.is_error]
    if failing:
        raise InputError(problems)
    for p in problems:
        print(p.format(), file=sys.stderr)
    return loaded.answers


def cmd_validate(args) -> int:
    answers = load_valid(args.file, args.strict)
    print(f"{args.file}: ok ({len(answers.nodes)} nodes: {len(answers.servers)} server(s), "
          f"{len(answers.agents)} agent(s))")
    return EXIT_OK


def cmd_plan(args) -> int:
    from .plan import build_plan
    from .plan_view import plan_summary, write_plan_dir
    answers = load_valid(args.file)
    plan = build_plan(answers)
    write_plan_dir(plan, args.out)
    print("\n".join(plan_summary(plan)))
    print(f"written to {args.out}/<node>/ (files at their remote paths, steps.sh in run order)")
    return EXIT_OK


def cmd_replay(args) -> int:
    from .plan import build_plan
    from .plan_view import plan_summary
    answers = load_valid(args.file, args.strict)
    unknown = [n for n in args.only if n not in {node.name for node in answers.nodes}]
    if unknown:
        raise InputError([Problem("", f"--only {name}: no such node in {args.file}",
                                  f"nodes: {', '.join(n.name for n in answers.nodes)}") for name in unknown])
    if args.concurrency < 1:
        raise InputError([Problem("", "--concurrency must be 1 or more", "")])
    if args.dry_run:
        print("\n".join(plan_summary(build_plan(answers, only=args.only or None))))
        print("dry run: nothing was changed")
        return EXIT_OK
    from .replay import run_replay
    return run_replay(answers, args)


def cmd_versions(args) -> int:
    from rich.console import Console

    from .catalog import load_catalog
    from .catalog_view import print_versions
    print_versions(Console(), load_catalog(), args.json)
    return EXIT_OK


def cmd_token(args) -> int:
    from .token import generate_token
    print(generate_token().reveal())
    return EXIT_OK


def cmd_schema(args) -> int:
    from .answers import answers_schema
    print(json.dumps(answers_schema(), indent=2))
    return EXIT_OK


def cmd_wizard(args) -> int:
    from screens.app import run_wizard
    return run_wizard(Path(args.answers) if args.answers else None)


def _write_crash_log() -> Path:
    try:
        folder = state_dir()
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        folder = Path(tempfile.gettempdir())
    path = folder / f"crash-{time.strftime('%Y%m%d-%H%M%S')}.log"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        traceback.print_exc(file=out)
    return path


if __name__ == "__main__":
    sys.exit(main())
