"""Node verbs of the k3s TEST STAND-IN's `kubectl` (not kubectl): delete, cordon, uncordon, drain.

They act on the lab's node registry (/lab-shared/nodes/<name>): `delete node` drops the node and
its cluster membership (like k3s's member-management controller); cordon and drain mark it
unschedulable, uncordon clears that. Every call is recorded by the stand-in k3s already.
"""
from __future__ import annotations

import json
import sys

import standin_cluster as cluster
import standin_lib as lib

NODE_VERBS = ("delete", "cordon", "uncordon", "drain")


def split(args: list[str]) -> tuple[list[str], list[str]]:
    """(names, flags); `node`/`nodes` after delete is the resource, not a name."""
    words = [a for a in args if not a.startswith("-")]
    flags = [a for a in args if a.startswith("-")]
    if words[:1] in (["node"], ["nodes"], ["no"]):
        words = words[1:]
    return words, flags


def node_verb(verb: str, args: list[str], cluster_id: str) -> int:
    names, flags = split(args)
    if not names:
        print(f"error: resource name may not be empty (kubectl {verb} NODE)", file=sys.stderr)
        return 1
    known = {n["name"] for n in cluster.registered_nodes() if n.get("cluster") == cluster_id}
    for name in names:
        if name not in known:
            if verb == "delete" and "--ignore-not-found" in flags:
                continue
            print(f'Error from server (NotFound): nodes "{name}" not found', file=sys.stderr)
            return 1
        if verb == "delete":
            cluster.forget(name)
            print(f'node "{name}" deleted')
        else:
            _set_unschedulable(name, verb != "uncordon")
            print(f"node/{name} {'uncordoned' if verb == 'uncordon' else 'cordoned'}")
            if verb == "drain":
                print(f"node/{name} drained")
    return 0


def _set_unschedulable(name: str, value: bool) -> None:
    with lib.shared_lock():
        path = f"{lib.SHARED}/nodes/{name}"
        node = json.loads(lib.read_text(path) or "{}")
        node["unschedulable"] = value
        lib.write_file(path, json.dumps(node))
