"""How long `k3swiz plan` takes for a 200-node answers file (goal: under 1 s).

Run: python bench/plan_200.py [--nodes 200]
Prints the wall time of the whole command (process start included), the time of
load + validate + plan + write inside one process, and their ratio to
`python -c pass` measured in the same run, so machine noise cancels.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml


def answers_doc(count: int) -> dict:
    servers = 3
    nodes = [{"name": f"cp{i + 1}", "address": f"10.20.{i // 250}.{i % 250 + 1}", "role": "server"}
             for i in range(servers)]
    nodes += [{"name": f"w{i + 1}", "address": f"10.21.{i // 250}.{i % 250 + 1}", "role": "agent",
               "labels": ["pool=bench"]} for i in range(count - servers)]
    return {"apiVersion": "k3swiz/v1",
            "cluster": {"name": "bench", "k3s": {"version": "v1.33.6+k3s1"}, "token": {"file": "./bench.token"},
                        "traefik": {"values": {"logs": {"access": {"enabled": True}}}}},
            "nodes": nodes}


def timed(cmd: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        answers = Path(tmp) / "bench.yaml"
        answers.write_text(yaml.safe_dump(answers_doc(args.nodes), sort_keys=False))
        baseline = min(timed([sys.executable, "-c", "pass"]) for _ in range(args.repeat))
        whole = min(timed([sys.executable, "-m", "k3swiz.cli", "plan", str(answers), "--out", f"{tmp}/out{i}"])
                    for i in range(args.repeat))
        from k3swiz.cli import main as k3swiz_main
        inproc = []
        for i in range(args.repeat):
            started = time.perf_counter()
            assert k3swiz_main(["plan", str(answers), "--out", f"{tmp}/in{i}"]) == 0
            inproc.append(time.perf_counter() - started)
    print(f"\nk3swiz plan, {args.nodes} nodes (best of {args.repeat}):", file=sys.stderr)
    print(f"  whole command       {whole * 1000:7.0f} ms  ({whole / baseline:.1f}x `python -c pass` = "
          f"{baseline * 1000:.0f} ms)", file=sys.stderr)
    print(f"  in process          {min(inproc) * 1000:7.0f} ms  (load, validate, plan, write {args.nodes} folders)",
          file=sys.stderr)
    print(f"  goal                   1000 ms  -> {'met' if whole < 1 else 'NOT met'}", file=sys.stderr)


if __name__ == "__main__":
    main()
