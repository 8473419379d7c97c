"""Product fixes the benchmarks suggest, patched into one k3swiz process to measure them.

Nothing under k3swiz/ is edited: `python bench/fixes.py FIX[,FIX] replay F --yes ...`
patches the running process, then runs the normal CLI. The owner of each module
applies the real fix; these patches are the evidence of what it would give.

  install-and-wait    k3swiz/plan.py plan_node: the install (or restart) and the
                      wait until ready as ONE remote command. One command and one
                      round trip less per node on a first apply.
  sftp-bundle         k3swiz/ssh.py Transport.write_files: files sent from local
                      paths (the airgap bundle) go over SFTP to a temp beside the
                      target and are renamed into place, instead of as base64
                      inside the shell script (see bench/upload.py). Root logins
                      only in this patch; sudo logins need a staging folder.
  stage-bundle        k3swiz/apply.py Applier._run_waves (with sftp-bundle): right
                      after pre-flight, upload every node's bundle to its temp names
                      in the background (bounded by --concurrency), while the server
                      waves run; a node's write step then only waits for its own
                      upload and renames. Uploads leave the critical path. The temps
                      are not the live paths, so the next probe still sees what
                      changed; a product fix must remove them when a wave is skipped.
  lazy-day2           k3swiz/cli_day2.py imports day2_console (-> apply -> paramiko,
                      replay -> rich) at module level, so every command, the wizard
                      and `plan` included, pays for the SSH stack before it starts.
                      This patch stands in for the fix (import day2_console inside
                      the handlers; the shared argparse options in a light module)
                      by registering no day-2 commands: right for timing `plan` and
                      the wizard's start, which never use them.
"""

from __future__ import annotations

import posixpath
import secrets
import sys
from pathlib import Path

FIXES: dict = {}


def fix(name: str):
    def register(function):
        FIXES[name] = function
        return function
    return register


@fix("install-and-wait")
def install_and_wait() -> None:
    from k3swiz import plan
    original = plan.plan_node

    def plan_node(*args, **kwargs):
        node_plan = original(*args, **kwargs)
        steps = node_plan.steps
        for i in range(len(steps) - 1):
            start, wait = steps[i], steps[i + 1]
            if getattr(start, "kind", "") in ("install", "restart") and getattr(wait, "kind", "") == "wait":
                script = f"(\n{start.script}) || exit $?\n{wait.script}"
                steps[i:i + 2] = [plan.Run(f"{start.title}, {wait.title}", script, start.kind,
                                           timeout=start.timeout + wait.timeout)]
                break
        return node_plan

    plan.plan_node = plan_node


@fix("sftp-bundle")
def sftp_bundle() -> None:
    import paramiko

    from k3swiz import ssh
    from k3swiz.remote_script import temp_path, write_files_script
    original = ssh.Transport.write_files

    def stage(self, local):
        """Upload the local files to their temp names; [(file, temp)]."""
        if self._ssh is None:
            self.connect()
        self.stats.commands += 1  # the SFTP session is a channel too: count it like a command
        self.stats.bytes_up += sum(f.size() for f in local)
        return _sftp_stage(paramiko.SFTPClient.from_transport(self._ssh), local, temp_path)

    def write_files(self, files, *, sudo=True):
        local = [f for f in files if isinstance(f.content, Path)]
        if not local or self.target.user != "root":
            return original(self, files, sudo=sudo)
        early = getattr(self, "staged_early", None)  # set by stage-bundle
        staged = early.result() if early is not None else self.stage(local)
        commits = "".join(f"mv -f -- '{temp}' '{f.path}' || k3swiz_fail '{f.path}' 'cannot move it into place'\n"
                          for f, temp in staged)
        rest = [f for f in files if not isinstance(f.content, Path)]
        pieces = [*write_files_script(rest), commits.encode()] if rest else [_MINI_HEADER + commits.encode()]
        rc, out, err, elapsed = self._run_script(pieces, sudo=sudo, timeout=None)
        if rc == 0:
            self.stats.files_written += len(files)
        return self._result(rc, out, err, elapsed)

    ssh.Transport.stage = stage
    ssh.Transport.write_files = write_files


@fix("stage-bundle")
def stage_bundle() -> None:
    from concurrent.futures import ThreadPoolExecutor

    from k3swiz import apply
    from k3swiz.plan import WriteFiles
    from k3swiz.remote_script import RemoteFile
    sftp_bundle()
    original = apply.Applier._run_waves

    def _run_waves(self, plan):
        pool = ThreadPoolExecutor(max_workers=self.options.concurrency, thread_name_prefix="k3swiz-stage")
        try:
            for node_plan in plan.node_plans():  # wave order: the first server's bundle goes first
                transport = self.transports[node_plan.node.name]
                write = next((s for s in node_plan.steps if isinstance(s, WriteFiles)), None)
                local = [RemoteFile(f.path, f.content, f.mode) for f in (write.files if write else ())
                         if isinstance(f.content, Path)]
                if local and transport.target.user == "root":
                    transport.staged_early = pool.submit(transport.stage, local)
            original(self, plan)
        finally:
            pool.shutdown(wait=True)

    apply.Applier._run_waves = _run_waves


_MINI_HEADER = b"k3swiz_fail() { printf 'k3swiz: cannot write %s: %s\\n' \"$1\" \"$2\" >&2; exit 1; }\n"


def _sftp_stage(sftp, files, temp_path) -> list[tuple]:
    """Put each local file at a temp name beside its target (parents made), with its mode."""
    staged = []
    try:
        for item in files:
            _makedirs(sftp, posixpath.dirname(item.path))
            temp = temp_path(item.path, secrets.token_hex(6))
            sftp.put(str(item.content), temp)
            sftp.chmod(temp, item.mode)
            staged.append((item, temp))
    finally:
        sftp.close()
    return staged


def _makedirs(sftp, folder: str) -> None:
    parts = [p for p in folder.split("/") if p]
    for depth in range(1, len(parts) + 1):
        path = "/" + "/".join(parts[:depth])
        try:
            sftp.stat(path)
        except FileNotFoundError:
            sftp.mkdir(path, 0o755)


@fix("lazy-day2")
def lazy_day2() -> None:
    import types
    stub = types.ModuleType("k3swiz.cli_day2")
    stub.register = lambda command: {}
    sys.modules["k3swiz.cli_day2"] = stub


def fixed_runner(names: str) -> list[str]:
    """The command that runs the k3swiz CLI with these fixes (comma-separated) patched in."""
    return [sys.executable, str(Path(__file__).resolve()), names]


if __name__ == "__main__":
    if len(sys.argv) < 2 or not set(sys.argv[1].split(",")) <= set(FIXES):
        sys.exit(f"usage: python bench/fixes.py FIX[,FIX] [k3swiz arguments...]; fixes: {', '.join(sorted(FIXES))}")
    for name in sys.argv[1].split(","):
        FIXES[name]()
    from k3swiz.cli import main  # after the patches: lazy-day2 must come before this import
    sys.exit(main(sys.argv[2:]))
