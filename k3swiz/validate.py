"""`k3swiz validate`: every rule an answers file must meet, reported all at once.

Type and key problems come from loading (k3swiz/schema.py); this module adds
the meaning: versions and what they can do, the cluster's shape, networks,
tokens, Traefik values, extras, install files. The wizard calls the same
`validate_answers` and shows the problems under their fields.
"""

from __future__ import annotations

import re
from urllib.parse import urlparse

from .answers import Answers, Loaded
from .catalog import Catalog, K3sVersion, is_channel, load_catalog
from .problems import Problem, Report
from .token import check_token
from .validate_files import check_install, check_token_file
from .validate_network import check_address, check_network
from .validate_nodes import check_nodes, check_roles

KNOWN_COMPONENTS = ("coredns", "servicelb", "traefik", "local-storage", "metrics-server", "runtimes")
# Keys k3swiz writes itself from the answers: giving them as extras would contradict the answers.
MANAGED_KEYS = {
    "cluster-init": "nodes[].init / cluster.mode", "server": "cluster.join-url", "token": "cluster.token",
    "token-file": "cluster.token", "cluster-cidr": "cluster.network.cluster-cidr",
    "service-cidr": "cluster.network.service-cidr", "flannel-backend": "cluster.network.flannel-backend",
    "tls-san": "cluster.tls-san", "disable": "cluster.disable", "node-ip": "nodes[].address / ipv6",
    "node-label": "nodes[].labels", "node-taint": "nodes[].taints", "node-name": "nodes[].name",
    "etcd-disable-snapshots": "cluster.etcd-snapshots.enabled",
    "etcd-snapshot-schedule-cron": "cluster.etcd-snapshots.schedule-cron",
    "etcd-snapshot-retention": "cluster.etcd-snapshots.retention", "etcd-snapshot-dir": "cluster.etcd-snapshots.dir",
}
# Extra keys that only some versions understand.
KEY_FEATURES = {
    "secrets-encryption-provider": "secrets-encryption-provider", "write-kubeconfig-group": "write-kubeconfig-group",
    "write-kubeconfig-name": "write-kubeconfig-name", "embedded-registry": "embedded-registry",
    "helm-controller-arg": "helm-controller-arg",
}
CRON_FIELD = re.compile(r"^(\*|\d+(-\d+)?)(/\d+)?(,(\*|\d+(-\d+)?)(/\d+)?)*$|^@(yearly|annually|monthly|weekly|daily|hourly)$")
CRON_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))


def validate(loaded: Loaded, catalog: Catalog | None = None) -> list[Problem]:
    """Problems of a loaded file (loading problems first), each with file and line."""
    report = Report(list(loaded.report.problems))
    report.extend(validate_answers(loaded.answers, catalog).problems)
    return [p.located(loaded.source.file, loaded.source.lines) for p in _unique(report.problems)]


def validate_answers(answers: Answers, catalog: Catalog | None = None) -> Report:
    catalog = catalog or load_catalog()
    report = Report()
    version = check_release(answers, catalog, report)
    check_cluster(answers, report)
    check_nodes(answers, report)
    check_roles(answers, report)
    check_network(answers, version, catalog, report)
    check_datastore(answers, version, catalog, report)
    if check_token_file(answers, report):
        check_token(answers, report)
    check_traefik(answers, version, catalog, report)
    check_extras(answers, version, catalog, report)
    check_install(answers, report)
    return report


def chosen_version(answers: Answers, catalog: Catalog) -> K3sVersion | None:
    """The concrete release the answers install (a channel resolves to its known target)."""
    release = answers.cluster.k3s
    try:
        return catalog.resolve(release.version or release.channel or "stable")
    except ValueError:
        return None


def check_release(answers: Answers, catalog: Catalog, report: Report) -> K3sVersion | None:
    release = answers.cluster.k3s
    path = "cluster.k3s"
    if release.version and release.channel:
        report.add(path, "give a version or a channel, not both", "remove one of them")
    if release.version:
        if release.version != release.version.strip():
            # The installer would put the spaces into its download URL, and a rerun would never
            # find the installed version equal to it (so it would reinstall every time).
            report.add(f"{path}.version", f"`{release.version}` has spaces or line breaks around it",
                       f"write it as {release.version.strip()}")
        try:
            version = K3sVersion.parse(release.version)
        except ValueError as exc:
            report.add(f"{path}.version", str(exc), "e.g. v1.33.6+k3s1 (see `k3swiz versions`)")
            return None
        refusal = catalog.refusal("config-file", version)
        if refusal:
            report.add(f"{path}.version", refusal, "k3swiz writes /etc/rancher/k3s/config.yaml: "
                       "choose v1.19.1+k3s1 or newer")
            return None
        return version
    channel = release.channel or "stable"
    if not is_channel(channel):
        report.add(f"{path}.channel", f"`{channel}` is not a k3s channel",
                   "use stable, latest, testing or v1.NN (e.g. v1.33)")
        return None
    return chosen_version(answers, catalog)


def check_cluster(answers: Answers, report: Report) -> None:
    cluster = answers.cluster
    if not re.fullmatch(r"[a-z0-9]([-a-z0-9_.]*[a-z0-9])?", cluster.name or ""):
        report.add("cluster.name", f"`{cluster.name}` cannot name a kubeconfig context and file",
                   "lowercase letters, digits, `-`, `_` and `.`")
    if cluster.mode == "join":
        if not cluster.join_url:
            report.add("cluster.join-url", "joining an existing cluster needs its URL",
                       "e.g. join-url: https://10.0.0.5:6443")
        else:
            check_join_url(cluster.join_url, report)
    elif cluster.join_url:
        report.add("cluster.join-url", "only used with `mode: join`", "remove it, or set cluster.mode: join")


def check_join_url(text: str, report: Report) -> None:
    """https://HOST[:PORT] with HOST an IP or DNS name: it lands in every node's config.yaml."""
    example = "k3s only joins over https, e.g. https://10.0.0.5:6443"
    try:
        url = urlparse(text)
        port = url.port  # raises for a port that is not a number in 0-65535
    except ValueError as exc:
        report.add("cluster.join-url", f"`{text}` is not a URL ({exc})", example)
        return
    if url.scheme != "https" or not url.hostname:
        report.add("cluster.join-url", f"`{text}` is not an https:// URL", example)
    elif port == 0:
        report.add("cluster.join-url", f"`{text}`: port 0 cannot be joined", example)
    else:
        check_address(url.hostname, "cluster.join-url", report)


def check_datastore(answers: Answers, version: K3sVersion | None, catalog: Catalog, report: Report) -> None:
    snaps = answers.cluster.etcd_snapshots
    path = "cluster.etcd-snapshots"
    if answers.cluster.datastore == "etcd" and version is not None:
        caveat = catalog.caveat("embedded-etcd", version)
        if caveat:
            report.warn("cluster.datastore", caveat, "choose v1.19.5+k3s1 or newer")
    if snaps.retention < 1:
        report.add(f"{path}.retention", f"retention {snaps.retention} keeps no snapshot",
                   "use 1 or more, or `enabled: false`")
    problem = cron_problem(snaps.schedule_cron)
    if problem:
        report.add(f"{path}.schedule-cron", problem, "5 fields: minute hour day month weekday, e.g. \"0 */12 * * *\"")
    if snaps.dir is not None and not snaps.dir.startswith("/"):
        report.add(f"{path}.dir", f"`{snaps.dir}` is not an absolute path", "e.g. /var/lib/rancher/k3s/server/db/snapshots")


def cron_problem(expr: str) -> str | None:
    fields = expr.split()
    if len(fields) == 1 and CRON_FIELD.match(fields[0]) and fields[0].startswith("@"):
        return None
    if len(fields) != 5:
        return f"`{expr}` has {len(fields)} fields, cron needs 5"
    for text, (low, high) in zip(fields, CRON_RANGES):
        if not CRON_FIELD.match(text):
            return f"`{text}` is not a cron field"
        for number in re.findall(r"\d+", re.sub(r"/\d+", "", text)):
            if not low <= int(number) <= high:
                return f"`{number}` is outside {low}-{high} in `{text}`"
    return None


def check_traefik(answers: Answers, version: K3sVersion | None, catalog: Catalog, report: Report) -> None:
    traefik = answers.cluster.traefik
    if not traefik.enabled:
        if traefik.values:
            report.warn("cluster.traefik.values", "Traefik is off, these values are not used",
                        "remove them, or set traefik.enabled: true")
        return
    if "traefik" in answers.cluster.disable:
        report.add("cluster.disable", "`traefik` is disabled here but cluster.traefik.enabled is true",
                   "set cluster.traefik.enabled: false instead")
    if version is None or not traefik.values:
        return
    for foreign in catalog.traefik_foreign_keys(traefik.values, version):
        if foreign.replacement:
            fix = "" if foreign.replacement in foreign.message else f"use `{foreign.replacement}`"
        else:
            fix = "remove it: this chart generation has no such setting"
        report.add(f"cluster.traefik.values.{foreign.path}", foreign.message, fix)


def check_extras(answers: Answers, version: K3sVersion | None, catalog: Catalog, report: Report) -> None:
    cluster = answers.cluster
    for i, name in enumerate(cluster.disable):
        if name not in KNOWN_COMPONENTS:
            report.add(f"cluster.disable[{i}]", f"`{name}` is not a packaged component",
                       f"one of: {', '.join(KNOWN_COMPONENTS)}")
    for i, san in enumerate(cluster.tls_san):
        check_address(san, f"cluster.tls-san[{i}]", report)
    for section in ("server-config", "agent-config"):
        extra = getattr(cluster, section.replace("-", "_"))
        for key, value in extra.items():
            path = f"cluster.{section}.{key}"
            bare = str(key).rstrip("+")
            if bare in MANAGED_KEYS:
                report.add(path, f"`{key}` is written by k3swiz", f"set it in {MANAGED_KEYS[bare]}")
            elif not re.fullmatch(r"[a-z0-9][a-z0-9-]*\+?", str(key)):
                report.add(path, f"`{key}` is not a k3s flag name", "use the long flag without --, e.g. kubelet-arg")
            elif bare in KEY_FEATURES and version is not None:
                refusal = catalog.refusal(KEY_FEATURES[bare], version)
                if refusal:
                    report.add(path, refusal, "choose a newer k3s or remove the key")
            _check_plain(value, path, report)
    unknown = [k for k in cluster.registries if k not in ("mirrors", "configs")]
    for key in unknown:
        report.add(f"cluster.registries.{key}", f"`{key}` is not a registries.yaml section", "use mirrors: and configs:")


def _check_plain(value: object, path: str, report: Report) -> None:
    """Extra config values must be YAML scalars or lists of them (k3s flags are strings, bools, lists)."""
    items = value if isinstance(value, list) else [value]
    if any(isinstance(v, (dict, list)) for v in items):
        report.add(path, "k3s config values are single values or lists of them", "flatten it")


def _unique(problems: list[Problem]) -> list[Problem]:
    seen, out = set(), []
    for p in problems:
        key = (p.path, p.message)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out
