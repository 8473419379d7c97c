"""Problems found in an answers file: what is wrong, where, and how to fix it.

Every check in k3swiz reports through this one shape so the CLI, the wizard
and the tests print and filter them the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class Problem:
    path: str            # key path in the answers file, e.g. "cluster.network.cluster-cidr[1]"
    message: str         # what is wrong
    fix: str = ""        # how to fix it
    severity: str = ERROR
    line: int | None = None
    file: str | None = None

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    def located(self, file: str | None, lines: dict[str, int]) -> "Problem":
        """The same problem with the file and the line of its key (or of its nearest parent key)."""
        return Problem(self.path, self.message, self.fix, self.severity,
                       self.line or line_of(self.path, lines), self.file or file)

    def format(self) -> str:
        where = self.file or "<answers>"
        if self.line:
            where += f":{self.line}"
        text = f"{where} {self.path or '(top)'}: {self.message}"
        if self.fix:
            text += f" — {self.fix}"
        if self.severity == WARNING:
            text = f"warning: {text}"
        return text


def line_of(path: str, lines: dict[str, int]) -> int | None:
    """Line of `path`, or of the closest enclosing key that has one."""
    while path:
        if path in lines:
            return lines[path]
        cut = max(path.rfind("."), path.rfind("["))
        if cut <= 0:
            path = ""
        else:
            path = path[:cut]
    return lines.get("")


@dataclass
class Report:
    """All problems of one answers file, errors and warnings together."""
    problems: list[Problem] = field(default_factory=list)

    def add(self, path: str, message: str, fix: str = "", severity: str = ERROR) -> None:
        self.problems.append(Problem(path, message, fix, severity))

    def warn(self, path: str, message: str, fix: str = "") -> None:
        self.add(path, message, fix, WARNING)

    def extend(self, problems: list[Problem]) -> None:
        self.problems.extend(problems)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.is_error]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if not p.is_error]

    def ok(self, strict: bool = False) -> bool:
        return not (self.problems if strict else self.errors)

    def under(self, prefix: str) -> list[Problem]:
        """Problems at or below a key path (the wizard shows them under the field)."""
        return [p for p in self.problems
                if p.path == prefix or p.path.startswith(prefix + ".") or p.path.startswith(prefix + "[")]


class InputError(Exception):
    """Bad input that stops k3swiz before anything is done (exit code 2)."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(p.format() for p in problems))
