"""Upload speed: k3swiz's write_files against SFTP and a raw `cat` on the same connection.

Run (as root, from the repository root):
    python bench/upload.py [--mib 64] [--repeat 3]

An airgap install uploads the k3s binary (~70 MB) and the images archive
(hundreds of MB) to every node, so bytes per second matter more than anything
else once real bundles are used. Transport.write_files sends a local file over
SFTP (to a temp beside the target as root, to a private staging folder as a
sudo user) and its write script only commits it (k3swiz.ssh_upload); small
files and secrets travel inside the `sh -s` script as base64 heredocs
(k3swiz.remote_script). The comparison, on one lab node and one connection:
  * k3swiz root / sudo   Transport.write_files as root, and as the NOPASSWD
                         sudo user `deploy` (staging folder + root copy)
  * inline script        the same file as base64 heredocs in the write script
                         (how k3swiz sent every file before; still its fallback
                         for a node without SFTP)
  * sftp / cat           paramiko SFTPClient.put, and an exec channel `cat > FILE`
                         fed the raw bytes: floors, neither atomic nor sudo-able
  * inline, sh = bash    the inline script under `bash -s`: /bin/sh is bash on RHEL,
                         Fedora and Amazon Linux, and bash reads a piped script
                         one byte at a time (SFTP does not care)
Best of --repeat, in one process, so the ratios are what to read.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from pathlib import Path

import paramiko

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import bench_lab, print_table, write_answers  # noqa: E402

from k3swiz.answers import SshOverride, load_answers  # noqa: E402
from k3swiz.connect import Access  # noqa: E402
from k3swiz.remote_script import write_files_script  # noqa: E402
from k3swiz.ssh import RemoteFile  # noqa: E402
from k3swiz.ssh_channel import run_channel  # noqa: E402

REMOTE_DIR = "/var/lib/rancher/bench"


def best(repeat: int, work) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def measure(mib: int, repeat: int) -> list[list]:
    with bench_lab(1, 0.0) as (lab, nodes, folder):
        answers = load_answers(write_answers(lab, nodes, folder, servers=1)).answers
        data = folder / "payload.bin"
        data.write_bytes(os.urandom(mib << 20))
        access = Access(ssh_config_path=folder / "no-ssh-config")
        transport, _ = access.open(answers, answers.nodes[0], "true")
        deploy = dataclasses.replace(answers.nodes[0], ssh=SshOverride(user="deploy"))  # NOPASSWD sudo
        sudo_transport, _ = access.open(answers, deploy, "true")
        try:
            transport.run(f"mkdir -p {REMOTE_DIR}")
            ways = upload_ways(transport, sudo_transport, data)
            results = [[name, best(repeat, work)] for name, work in ways.items()]
        finally:
            transport.close()
            sudo_transport.close()
    k3swiz = results[0][1]
    return [[name, seconds, mib / seconds, seconds / k3swiz] for name, seconds in results]


def upload_ways(transport, sudo_transport, data: Path) -> dict:
    def with_k3swiz():
        result = transport.write_files([RemoteFile(f"{REMOTE_DIR}/k3swiz.bin", data, 0o644)])
        assert result.ok, result.stderr

    def with_k3swiz_sudo():
        result = sudo_transport.write_files([RemoteFile(f"{REMOTE_DIR}/sudo.bin", data, 0o644)])
        assert result.ok, result.stderr

    def with_inline_script():
        script = write_files_script([RemoteFile(f"{REMOTE_DIR}/inline.bin", data, 0o644)])
        outcome = run_channel(transport._ssh, "sh -s", script, 600, open_timeout=10)
        assert outcome.rc == 0, outcome.stderr

    def with_sftp():
        sftp = paramiko.SFTPClient.from_transport(transport._ssh)
        try:
            sftp.put(str(data), f"{REMOTE_DIR}/sftp.bin")
        finally:
            sftp.close()

    def with_cat():
        def pieces():
            with data.open("rb") as handle:
                while chunk := handle.read(1 << 20):
                    yield chunk
        outcome = run_channel(transport._ssh, f"cat > {REMOTE_DIR}/cat.bin", pieces(), 120, open_timeout=10)
        assert outcome.rc == 0, outcome.stderr

    def with_bash():  # the inline script where /bin/sh is bash (RHEL, Fedora, Amazon Linux)
        script = write_files_script([RemoteFile(f"{REMOTE_DIR}/bash.bin", data, 0o644)])
        outcome = run_channel(transport._ssh, "bash -s", script, 600, open_timeout=10)
        assert outcome.rc == 0, outcome.stderr

    return {"k3swiz write_files, root": with_k3swiz, "k3swiz write_files, sudo": with_k3swiz_sudo,
            "inline script (before)": with_inline_script, "sftp put": with_sftp, "raw cat": with_cat,
            "inline script, sh = bash": with_bash}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mib", type=int, default=64, help="payload size in MiB")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rows = measure(args.mib, args.repeat)
    print_table(f"Upload of {args.mib} MiB to one lab node, one connection (best of {args.repeat})",
                ["way", "seconds", "MiB/s", "x k3swiz time"], rows)


if __name__ == "__main__":
    main()
