"""The Traefik step's common settings as chart values, in the key style of one chart generation.

Which generation a version ships, and which key turns on the redirect, come from the
catalog (`catalog.traefik_generation`, `catalog.traefik_redirect_key`); this module
only spells the form's choices in that generation's keys and reads them back:

    v1 (k3s <= 1.20)         ssl.enforced, accessLogs.enabled, forwardedHeaders.trustedIPs, ...
    v2 (1.21 .. 1.32.1)      ports.web.redirectTo[.port], logs.access.enabled, ...
    v3 (1.32.2 and newer)    ports.web.redirections.entryPoint {to, scheme, permanent}, ...

Pure (no Textual, no catalog import), so it is tested without a UI.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

REDIRECT_TARGET = "websecure"
# The v3 redirect is a small mapping, not one flag (traefik-helm-chart#1301).
V3_REDIRECT = {"to": REDIRECT_TARGET, "scheme": "https", "permanent": True}
SERVICE_TYPES = ("LoadBalancer", "NodePort", "ClusterIP")
TRAFFIC_POLICIES = ("Cluster", "Local")


@dataclass
class CommonSettings:
    """The form's choices; "off"/empty/None means: leave the chart's default alone."""
    redirect_https: bool = False
    access_logs: bool = False
    forwarded_trusted_ips: list[str] = field(default_factory=list)
    proxy_protocol_trusted_ips: list[str] = field(default_factory=list)
    dashboard: bool = False
    service_type: str | None = None
    external_traffic_policy: str | None = None


def _keys(generation: str, redirect_key: str) -> dict[str, str | list[str]]:
    """Dotted keys for each setting. Trusted IPs go on both entry points in v2/v3."""
    if generation == "v1":
        return {"redirect": redirect_key, "access_logs": "accessLogs.enabled",
                "forwarded": ["forwardedHeaders.trustedIPs"], "proxy": ["proxyProtocol.trustedIPs"],
                "dashboard": "dashboard.enabled", "service_type": "serviceType",
                "policy": "externalTrafficPolicy"}
    return {"redirect": redirect_key, "access_logs": "logs.access.enabled",
            "forwarded": ["ports.web.forwardedHeaders.trustedIPs", "ports.websecure.forwardedHeaders.trustedIPs"],
            "proxy": ["ports.web.proxyProtocol.trustedIPs", "ports.websecure.proxyProtocol.trustedIPs"],
            "dashboard": "ingressRoute.dashboard.enabled", "service_type": "service.type",
            "policy": "service.spec.externalTrafficPolicy"}


def _set(values: dict, dotted: str, value: Any) -> None:
    node = values
    *parents, last = dotted.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value


def _pop(values: dict, dotted: str) -> Any:
    """Remove and return the value at `dotted` (None if absent), pruning emptied parents."""
    *parents, last = dotted.split(".")
    trail, node = [], values
    for part in parents:
        if not isinstance(node, dict) or not isinstance(node.get(part), dict):
            return None
        trail.append((node, part))
        node = node[part]
    if not isinstance(node, dict) or last not in node:
        return None
    value = node.pop(last)
    for parent, part in reversed(trail):
        if parent[part]:
            break
        del parent[part]
    return value


def common_values(settings: CommonSettings, generation: str, redirect_key: str) -> dict:
    """The values dict for the chosen settings, in `generation`'s keys."""
    keys = _keys(generation, redirect_key)
    values: dict = {}
    if settings.redirect_https:
        if generation == "v1":
            _set(values, redirect_key, True)
        elif generation == "v3":
            _set(values, redirect_key.rsplit(".", 1)[0], dict(V3_REDIRECT))
        else:
            _set(values, redirect_key, REDIRECT_TARGET)
    if settings.access_logs:
        _set(values, keys["access_logs"], True)
    for setting, ips in (("forwarded", settings.forwarded_trusted_ips), ("proxy", settings.proxy_protocol_trusted_ips)):
        if ips:
            for dotted in keys[setting]:
                _set(values, dotted, list(ips))
            if generation == "v1":  # the v1 chart only reads the list when the section is enabled
                _set(values, keys[setting][0].replace("trustedIPs", "enabled"), True)
    if settings.dashboard:
        _set(values, keys["dashboard"], True)
    if settings.service_type:
        _set(values, keys["service_type"], settings.service_type)
    if settings.external_traffic_policy:
        _set(values, keys["policy"], settings.external_traffic_policy)
    return values


def split_values(values: dict, generation: str, redirect_key: str) -> tuple[CommonSettings, dict]:
    """Read the form's settings out of `values`; return them and the values left over.

    Only keys written exactly as common_values writes them are taken, so
    build_values(split_values(v)) == v for any values in this generation's style.
    """
    rest = copy.deepcopy(values)
    keys = _keys(generation, redirect_key)
    settings = CommonSettings()
    settings.redirect_https = _take_redirect(rest, generation, redirect_key)
    settings.access_logs = _take_exact(rest, keys["access_logs"], True)
    settings.dashboard = _take_exact(rest, keys["dashboard"], True)
    settings.forwarded_trusted_ips = _take_ips(rest, keys["forwarded"], generation)
    settings.proxy_protocol_trusted_ips = _take_ips(rest, keys["proxy"], generation)
    settings.service_type = _take_choice(rest, keys["service_type"], SERVICE_TYPES)
    settings.external_traffic_policy = _take_choice(rest, keys["policy"], TRAFFIC_POLICIES)
    return settings, rest


def build_values(settings: CommonSettings, other: dict, generation: str, redirect_key: str) -> dict:
    """Everything the HelmChartConfig gets: the other values with the form's settings on top."""
    return deep_merge(other, common_values(settings, generation, redirect_key))


def deep_merge(base: dict, top: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _get(values: dict, dotted: str) -> Any:
    node: Any = values
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _take_exact(rest: dict, dotted: str, wanted: Any) -> bool:
    if _get(rest, dotted) == wanted and type(_get(rest, dotted)) is type(wanted):
        _pop(rest, dotted)
        return True
    return False


def _take_redirect(rest: dict, generation: str, redirect_key: str) -> bool:
    if generation == "v1":
        return _take_exact(rest, redirect_key, True)
    if generation == "v3":
        return _take_exact(rest, redirect_key.rsplit(".", 1)[0], V3_REDIRECT)
    return _take_exact(rest, redirect_key, REDIRECT_TARGET)


def _take_ips(rest: dict, dotted_keys: list[str], generation: str) -> list[str]:
    lists = [_get(rest, dotted) for dotted in dotted_keys]
    if not lists[0] or any(ips != lists[0] for ips in lists) or not isinstance(lists[0], list) \
            or not all(isinstance(ip, str) for ip in lists[0]):
        return []
    if generation == "v1":
        enabled = dotted_keys[0].replace("trustedIPs", "enabled")
        if not _take_exact(rest, enabled, True):
            return []
    for dotted in dotted_keys:
        _pop(rest, dotted)
    return list(lists[0])


def _take_choice(rest: dict, dotted: str, choices: tuple[str, ...]) -> str | None:
    value = _get(rest, dotted)
    if isinstance(value, str) and value in choices:
        _pop(rest, dotted)
        return value
    return None
