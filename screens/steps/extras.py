"""Step 8: extra API certificate names, disabled components, registries, extra k3s keys."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Checkbox, Input, Label, TextArea

from k3swiz.assets import asset_path
from k3swiz.validate import KNOWN_COMPONENTS

from ..form_values import dump_mapping, join_list, parse_mapping, split_list
from ..widgets import Field, FieldMessage, Tick
from .base import StepScreen

# Traefik is turned off on its own step (which also writes its HelmChartConfig).
COMPONENTS = tuple(c for c in KNOWN_COMPONENTS if c != "traefik")
MAPPINGS = (("registries", "registries.yaml", "mirrors:\n  docker.io:\n    endpoint: [...]"),
            ("server-config", "Extra k3s keys, servers", "kube-apiserver-arg: [...]"),
            ("agent-config", "Extra k3s keys, agents", "kubelet-arg: [...]"))


class ExtrasStep(StepScreen):
    STEP = "extras"
    SUBTITLE = "optional: certificate names, components, registries, other k3s keys"
    CSS_PATH = asset_path("step_extras.tcss")
    HELP = ("tls-san: extra names or IPs in the API server's certificate (a load balancer, a DNS name).\n"
            "Disable: packaged components k3s should not deploy (Traefik: on the Traefik step).\n"
            "registries.yaml: mirrors and registry credentials, written 0600 to every node.\n"
            "Extra keys: any other k3s config key (long flag name without --), for servers or agents; "
            "keys k3swiz writes itself are refused with the step to set them on.")

    def compose_body(self) -> ComposeResult:
        yield Field("tls-san (names/IPs, comma separated)", Input(id="tls-san", compact=True,
                    placeholder="k3s.example.com, 192.168.1.100"), "cluster.tls-san")
        yield Label("Disable packaged components", classes="field-label")
        with Horizontal(id="components"):
            for component in COMPONENTS:
                yield Tick(component, id=f"disable-{component}")
        yield FieldMessage("cluster.disable")
        with Horizontal(id="mappings"):
            for key, label, placeholder in MAPPINGS:
                with Vertical(classes="mapping"):
                    yield Field(label, TextArea(id=key, soft_wrap=False, placeholder=placeholder),
                                f"cluster.{key}")

    def load_form(self) -> None:
        cluster = self.state.answers.cluster
        self.query_one("#tls-san", Input).value = join_list(cluster.tls_san)
        for component in COMPONENTS:
            self.query_one(f"#disable-{component}", Checkbox).value = component in cluster.disable
        for key, _label, _placeholder in MAPPINGS:
            self.query_one(f"#{key}", TextArea).text = dump_mapping(getattr(cluster, key.replace("-", "_")))

    def store_form(self) -> None:
        cluster = self.state.answers.cluster
        cluster.tls_san = split_list(self.query_one("#tls-san", Input).value)
        # Keep names the checkboxes do not show (e.g. a `traefik` from a file: the validator explains it).
        hidden = [name for name in cluster.disable if name not in COMPONENTS]
        cluster.disable = hidden + [c for c in COMPONENTS if self.query_one(f"#disable-{c}", Checkbox).value]
        for key, label, _placeholder in MAPPINGS:
            value = self.parsed(f"cluster.{key}", parse_mapping, self.query_one(f"#{key}", TextArea).text, label)
            if value is not None:
                setattr(cluster, key.replace("-", "_"), value)
