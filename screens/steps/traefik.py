"""Step 7: the packaged Traefik: on/off, common settings, other values, the HelmChartConfig live.

The form's settings are written in the key style of the chart the chosen k3s
version ships (v1 / v2 / v3, from the catalog) by screens/traefik_form.py.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Checkbox, Input, Label, Select, Static, Switch, TextArea

from k3swiz.assets import asset_path
from k3swiz.catalog import load_catalog
from k3swiz.render import TRAEFIK_CONFIG, traefik_manifest

from .. import traefik_form as form
from ..code_view import CodeView
from ..form_values import dump_mapping, join_list, parse_mapping, split_list
from ..widgets import Field, FieldMessage, OnOff, Tick
from ..wizard_state import traefik_style
from .base import StepScreen

FALLBACK_STYLE = ("v3", "ports.web.redirections.entryPoint.to")


class TraefikStep(StepScreen):
    STEP = "traefik"
    SUBTITLE = "the packaged ingress controller"
    CSS_PATH = asset_path("step_traefik.tcss")
    HELP = ("k3s deploys Traefik unless it is turned off. Its Helm values go in a HelmChartConfig "
            f"({TRAEFIK_CONFIG}) on every server.\n\nThe chart's keys changed twice: k3s <= 1.20 ships "
            "the Traefik v1 chart, 1.21 .. v1.32.1 the v2 chart, v1.32.2+ the v3 chart. The common "
            "settings are written in the chosen version's keys (and rewritten when the version changes); "
            "other values go in the YAML box as they are, and keys of another chart generation are "
            "reported with the key to use instead.")

    def __init__(self) -> None:
        super().__init__()
        self.style = FALLBACK_STYLE   # (generation, redirect key) the form was last written in

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="traefik-enable", classes="row"):
            yield Label("Deploy Traefik  ", classes="field-label")
            yield OnOff(id="enabled")
            yield Static("", id="chart", classes="note")
        with Horizontal(id="traefik-split"):
            with Vertical(id="traefik-form"):
                yield Tick("HTTP → HTTPS redirect", id="redirect")
                yield Tick("Access logs", id="access-logs")
                yield Tick("Dashboard (IngressRoute)", id="dashboard")
                yield Field("Trusted IPs for X-Forwarded-* headers", Input(id="forwarded", compact=True,
                            placeholder="10.0.0.0/8, 192.168.0.0/16"), "cluster.traefik.values.forwardedHeaders",
                            "cluster.traefik.values.ports.web.forwardedHeaders")
                yield Field("Trusted IPs for PROXY protocol", Input(id="proxy", compact=True,
                            placeholder="10.0.0.0/8"), "cluster.traefik.values.proxyProtocol",
                            "cluster.traefik.values.ports.web.proxyProtocol")
                with Horizontal(classes="row"):
                    yield Field("Service type", Select([(t, t) for t in form.SERVICE_TYPES], id="service-type",
                                prompt="chart default", compact=True))
                    yield Field("externalTrafficPolicy", Select([(p, p) for p in form.TRAFFIC_POLICIES],
                                id="traffic-policy", prompt="chart default", compact=True))
                yield Field("Other values (YAML)", TextArea(id="other", soft_wrap=False), "cluster.traefik.values")
                yield FieldMessage("cluster.traefik", id="traefik-other")
            with Vertical(id="traefik-preview"):
                yield Label("traefik-config.yaml (on every server)", classes="field-label")
                yield CodeView(id="manifest", lexer="yaml")

    # --- the chart style of the chosen version -------------------------------------

    def current_style(self) -> tuple[str, str]:
        return traefik_style(self.state.answers) or self.style

    # --- answers <-> widgets -------------------------------------------------------

    def load_form(self) -> None:
        traefik = self.state.answers.cluster.traefik
        # The values were written for the version chosen then (which may have changed since).
        self.style = self.state.ui.get("traefik_style") or self.current_style()
        settings, rest = form.split_values(traefik.values, *self.style)
        self.query_one("#enabled", Switch).value = traefik.enabled
        self.query_one("#redirect", Checkbox).value = settings.redirect_https
        self.query_one("#access-logs", Checkbox).value = settings.access_logs
        self.query_one("#dashboard", Checkbox).value = settings.dashboard
        self.query_one("#forwarded", Input).value = join_list(settings.forwarded_trusted_ips)
        self.query_one("#proxy", Input).value = join_list(settings.proxy_protocol_trusted_ips)
        self._set_select("#service-type", settings.service_type)
        self._set_select("#traffic-policy", settings.external_traffic_policy)
        self.query_one("#other", TextArea).text = dump_mapping(rest)
        self.refresh_gates()

    def _set_select(self, selector: str, value: str | None) -> None:
        select = self.query_one(selector, Select)
        if value is None:
            select.clear()
        else:
            select.value = value

    def settings(self) -> form.CommonSettings:
        def choice(selector: str) -> str | None:
            value = self.query_one(selector, Select).value
            return value if isinstance(value, str) else None
        return form.CommonSettings(
            redirect_https=self.query_one("#redirect", Checkbox).value,
            access_logs=self.query_one("#access-logs", Checkbox).value,
            forwarded_trusted_ips=split_list(self.query_one("#forwarded", Input).value),
            proxy_protocol_trusted_ips=split_list(self.query_one("#proxy", Input).value),
            dashboard=self.query_one("#dashboard", Checkbox).value,
            service_type=choice("#service-type"), external_traffic_policy=choice("#traffic-policy"))

    def store_form(self) -> None:
        traefik = self.state.answers.cluster.traefik
        traefik.enabled = self.query_one("#enabled", Switch).value
        other = self.parsed("cluster.traefik.values", parse_mapping, self.query_one("#other", TextArea).text,
                            "Other values")
        if other is None:   # not YAML yet: keep the last values, Next is refused meanwhile
            return
        self.style = self.current_style()
        self.state.ui["traefik_style"] = self.style
        traefik.values = form.build_values(self.settings(), other, *self.style) if traefik.enabled else other

    def refresh_gates(self) -> None:
        enabled = self.query_one("#enabled", Switch).value
        self.query_one("#traefik-form").disabled = not enabled
        generation, _key = self.current_style()
        chart = load_catalog().traefik_generations.get(generation)
        self.query_one("#chart", Static).update(
            f"chart {generation}: {chart.charts}" if chart and enabled else "off: servers get disable: [traefik]")
        values = self.state.answers.cluster.traefik.values
        self.query_one("#manifest", CodeView).show(
            traefik_manifest(values) if enabled else "# not written: Traefik is off")

    def on_screen_resume(self) -> None:
        """A version change moves the common settings to the new chart's keys."""
        if self.current_style() != self.style and self.state.answers.cluster.traefik.enabled:
            old = self.style[0]
            self.form_changed()
            if old != self.style[0]:
                self.notify(f"Traefik values rewritten from the {old} to the {self.style[0]} chart's keys")
        super().on_screen_resume()
