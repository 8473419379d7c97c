"""Step 4: single or dual-stack, the pod and service networks, the flannel backend."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Input, Label, Select, Static, Switch

from k3swiz.answers import Network
from k3swiz.assets import asset_path
from k3swiz.catalog import load_catalog
from k3swiz.validate import chosen_version

from ..form_values import join_list, split_list
from ..widgets import Field, FieldMessage, OnOff
from .base import StepScreen

BACKENDS = ("vxlan", "host-gw", "wireguard-native", "wireguard", "ipsec", "none")
# Backends that only some versions have: the catalog feature that says which.
BACKEND_FEATURES = {"wireguard-native": "flannel-wireguard-native", "wireguard": "flannel-wireguard",
                    "ipsec": "flannel-ipsec"}


class NetworkStep(StepScreen):
    STEP = "network"
    SUBTITLE = "pod and service networks; IPv4, or IPv4 + IPv6"
    CSS_PATH = asset_path("step_network.tcss")
    HELP = ("Single-stack: one pod network (cluster-cidr) and one service network (service-cidr).\n"
            "Dual-stack: one IPv4 and one IPv6 network each, e.g. 10.42.0.0/16, 2001:db8:42::/56 and "
            "10.43.0.0/16, 2001:db8:43::/112, and each node's IPv6 address (on the Nodes step). "
            "Dual-stack needs k3s 1.21+ and is stable from v1.23.7+k3s1.\n\n"
            "Networks must not overlap each other or the nodes' own addresses. These settings cannot be "
            "changed after the cluster is created.")

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="dual-row", classes="row"):
            yield Label("Dual-stack (IPv4 + IPv6)  ", classes="field-label")
            yield OnOff(id="dual-stack")
            yield Static("", id="dual-reason", classes="reason")
        yield FieldMessage("cluster.network.dual-stack")
        yield Field("Pod networks (cluster-cidr), comma separated",
                    Input(id="cluster-cidr", placeholder="10.42.0.0/16", compact=True), "cluster.network.cluster-cidr")
        yield Field("Service networks (service-cidr), comma separated",
                    Input(id="service-cidr", placeholder="10.43.0.0/16", compact=True), "cluster.network.service-cidr")
        yield Field("Flannel backend", Select([(b, b) for b in BACKENDS], id="flannel-backend", allow_blank=False,
                                              value="vxlan", compact=True), "cluster.network.flannel-backend")
        yield Static("", id="backend-reasons", classes="note")
        yield FieldMessage("cluster.network", id="network-other")

    def load_form(self) -> None:
        net = self.state.answers.cluster.network
        self.query_one("#dual-stack", Switch).value = net.dual_stack
        self.query_one("#cluster-cidr", Input).value = join_list(net.cluster_cidr)
        self.query_one("#service-cidr", Input).value = join_list(net.service_cidr)
        self.query_one("#flannel-backend", Select).value = net.flannel_backend
        self.refresh_gates()

    def store_form(self) -> None:
        self.state.answers.cluster.network = Network(
            dual_stack=self.query_one("#dual-stack", Switch).value,
            cluster_cidr=split_list(self.query_one("#cluster-cidr", Input).value),
            service_cidr=split_list(self.query_one("#service-cidr", Input).value),
            flannel_backend=str(self.query_one("#flannel-backend", Select).value))

    def refresh_gates(self) -> None:
        """Dual-stack is off limits (with the reason) on versions that cannot do it."""
        catalog = load_catalog()
        version = chosen_version(self.state.answers, catalog)
        refusal = catalog.refusal("dual-stack", version) if version else None
        caveat = catalog.caveat("dual-stack", version) if version and not refusal else None
        switch = self.query_one("#dual-stack", Switch)
        # Never lock a switch that is on: the user must be able to turn a refused option off.
        switch.disabled = bool(refusal) and not switch.value
        self.query_one("#dual-reason", Static).update(refusal or caveat or "")
        lines = []
        for backend, feature in BACKEND_FEATURES.items():
            why = catalog.refusal(feature, version) if version else None
            if why:
                lines.append(f"{backend}: {why}")
        self.query_one("#backend-reasons", Static).update("\n".join(lines))
