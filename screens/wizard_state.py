"""The wizard's state without any widget: the Answers being built, the core's report on
them, which step owns which problem, how far the user got, whether it is saved.

Pure Python (no Textual import) so the step logic is tested without a terminal.
The rules themselves stay in the core: this module only sorts the core's
problems into the steps whose fields edit those keys.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from k3swiz.answers import Answers, to_yaml
from k3swiz.problems import Problem, Report
from k3swiz.secrets import Secret

STEPS = ("cluster", "version", "nodes", "network", "datastore", "token", "traefik", "extras",
         "review", "apply")
TITLES = {"cluster": "Cluster", "version": "Version", "nodes": "Nodes", "network": "Network",
          "datastore": "Datastore", "token": "Token", "traefik": "Traefik", "extras": "Extras",
          "review": "Review", "apply": "Apply"}
FORM_STEPS = STEPS[:-2]  # the steps that edit answers

# Which step edits which key paths, most specific first. `[*]` stands for any list index.
OWNERS: tuple[tuple[str, str], ...] = (
    ("nodes[*].init", "datastore"),
    ("cluster.k3s", "version"),
    ("install", "version"),
    ("cluster.token", "token"),
    ("cluster.network", "network"),
    ("cluster.datastore", "datastore"),
    ("cluster.etcd-snapshots", "datastore"),
    ("cluster.traefik", "traefik"),
    ("cluster.tls-san", "extras"),
    ("cluster.disable", "extras"),
    ("cluster.registries", "extras"),
    ("cluster.server-config", "extras"),
    ("cluster.agent-config", "extras"),
    ("nodes", "nodes"),
    ("ssh", "nodes"),
    ("cluster", "cluster"),
    ("apiVersion", "cluster"),
    ("", "cluster"),
)
# A partial answers file "misses" a step when none of these keys is in it.
REQUIRED_KEYS = {"cluster": "cluster", "version": "cluster.k3s", "nodes": "nodes",
                 "token": "cluster.token"}


def _pattern(prefix: str) -> re.Pattern[str]:
    body = re.escape(prefix).replace(r"\[\*\]", r"\[\d+\]")
    return re.compile(rf"^{body}(?:$|[.\[])")


def matches(prefix: str, path: str) -> bool:
    """True when `path` is `prefix` or below it (like Report.under, with `[*]` for any index)."""
    if prefix == "":
        return path == ""
    return bool(_pattern(prefix).match(path))


def owner_of(path: str) -> str:
    """The step whose fields edit the key at `path`."""
    for prefix, step in OWNERS:
        if matches(prefix, path):
            return step
    return "review"


@dataclass
class WizardState:
    answers: Answers
    report: Report = field(default_factory=Report)
    reached: int = 0                          # index of the furthest step visited
    save_path: Path | None = None
    saved_text: str | None = None             # to_yaml of what was last saved
    new_token: Secret | None = None           # generated here, written at the next save
    ui: dict = field(default_factory=dict)    # form choices that are not answers (token mode, ...)

    def revalidate(self) -> Report:
        from k3swiz.validate import validate_answers  # the catalog loads on first use
        try:
            self.report = validate_answers(self.answers)
        except Exception as exc:  # noqa: BLE001 - a half-typed value must not end the wizard
            # (e.g. a token file path typed so far is "/", a folder the core tries to read)
            self.report = Report()
            self.report.add("", f"these answers could not be checked: {type(exc).__name__}: {exc}",
                            "finish typing the value; if this stays, report it")
        return self.report

    def problems_of(self, step: str) -> list[Problem]:
        return [p for p in self.report.problems if owner_of(p.path) == step]

    def errors_of(self, step: str) -> list[Problem]:
        return [p for p in self.problems_of(step) if p.is_error]

    def reach(self, step: str) -> None:
        self.reached = max(self.reached, STEPS.index(step))

    def marks(self) -> dict[str, str]:
        """Per step: "invalid", "done" (visited, no errors) or "todo"."""
        out = {}
        for i, step in enumerate(STEPS):
            if i > self.reached:
                out[step] = "todo"
            elif step in FORM_STEPS and self.errors_of(step):
                out[step] = "invalid"
            elif step in FORM_STEPS or i < self.reached:
                out[step] = "done"
            else:
                out[step] = "todo"
        return out

    def first_open_step(self, present_keys: set[str] | None = None) -> str:
        """Where a prefilled wizard opens: the first step missing from the file or with errors."""
        for step in FORM_STEPS:
            required = REQUIRED_KEYS.get(step)
            if present_keys is not None and required and required not in present_keys:
                return step
            if self.errors_of(step):
                return step
        return "review"

    @property
    def dirty(self) -> bool:
        return self.saved_text != to_yaml(self.answers)

    def default_save_path(self) -> Path:
        return self.save_path or Path(f"{self.answers.cluster.name or 'k3s'}.k3swiz.yaml")


def traefik_style(answers: Answers) -> tuple[str, str] | None:
    """(chart generation, redirect key) of the version the answers choose, from the catalog."""
    from k3swiz.catalog import load_catalog
    from k3swiz.validate import chosen_version
    catalog = load_catalog()
    version = chosen_version(answers, catalog)
    if version is None:
        return None
    return catalog.traefik_generation(version), catalog.traefik_redirect_key(version)


def state_from_file(path: Path | None) -> tuple[WizardState, str, list[str]]:
    """(state, step to open on, notices) for `k3swiz [--answers FILE]`.

    A path that does not exist yet starts a new cluster that will be saved there.
    An unusable file raises the core's InputError (the CLI prints it, exit 2).
    """
    from k3swiz.answers import load_answers
    if path is None or not Path(path).exists():
        return WizardState(Answers(), save_path=path), "cluster", []
    loaded = load_answers(path)
    state = WizardState(loaded.answers, save_path=Path(path), saved_text=to_yaml(loaded.answers))
    state.revalidate()
    # The Traefik step reads the file's values in the key style of the file's version,
    # even if the version is changed before that step is first shown.
    state.ui["traefik_style"] = traefik_style(loaded.answers)
    open_step = state.first_open_step(set(loaded.source.lines))
    state.reached = STEPS.index(open_step)
    notices = [p.format() for p in loaded.problems()]
    return state, open_step, notices
