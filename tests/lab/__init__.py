"""The SSH test-node lab: real sshd "nodes" in namespaces on loopback addresses.

Test-only code. See lab.py for the entry point and reset.py for clean nodes.
"""
from tests.lab.lab import Lab
from tests.lab.node import Node
from tests.lab.reset import reset_node
from tests.lab.sshd import lab_prerequisites_missing

__all__ = ["Lab", "Node", "lab_prerequisites_missing", "reset_node"]
