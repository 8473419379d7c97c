"""Read YAML the careful way: line numbers for every key, duplicate keys refused,
alias bombs and oversized or binary files stopped before they cost anything.

pyyaml's safe_load silently keeps the last of two equal keys and expands
aliases without a limit; answers files deserve better, so we compose the node
graph (cheap: aliases stay shared) and build plain Python data ourselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import yaml

from .problems import InputError, Problem

MAX_BYTES = 1024 * 1024          # an answers file for 1,000 nodes is ~150 KiB
MAX_VALUES = 200_000             # scalars + collections after alias expansion
MAX_DEPTH = 64


@dataclass
class Source:
    """Plain data of a YAML document plus the line of every key path."""
    data: object
    lines: dict[str, int] = field(default_factory=dict)
    file: str | None = None


def _fail(file: str | None, message: str, fix: str = "", line: int | None = None) -> InputError:
    return InputError([Problem("", message, fix, line=line, file=file)])


def decode(raw: bytes, file: str | None) -> str:
    if len(raw) > MAX_BYTES:
        raise _fail(file, f"file is {len(raw) / 1e6:.1f} MB; answers files are read up to "
                          f"{MAX_BYTES // 1024} KiB", "is this the right file?")
    if b"\0" in raw[:8192] or b"\0" in raw:
        raise _fail(file, "file is binary (contains NUL bytes), not YAML",
                    "give the path of a k3swiz answers file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise _fail(file, f"not valid UTF-8 (byte 0x{raw[exc.start]:02x})",
                    "save the file as UTF-8", line) from None
    if not text.strip():
        raise _fail(file, "file is empty", "run `k3swiz` to create an answers file, or start from "
                                           "assets/examples/")
    return text


def load_yaml(raw: bytes | str, file: str | None = None) -> Source:
    """Parse one YAML document into plain data with key lines; raise InputError when unusable."""
    text = raw if isinstance(raw, str) else decode(raw, file)
    if isinstance(raw, str) and len(raw.encode()) > MAX_BYTES:
        raise _fail(file, "document is larger than 1 MiB", "is this the right file?")
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        hint = "YAML does not allow tabs for indentation: use spaces" if "\t" in (exc.problem or "") \
            or "found character '\\t'" in str(exc) else "check the indentation and quoting near this line"
        raise _fail(file, f"malformed YAML: {exc.problem or exc}", hint, line) from None
    except yaml.YAMLError as exc:
        raise _fail(file, f"malformed YAML: {exc}", "check the file's syntax") from None
    if node is None:
        raise _fail(file, "file holds no YAML document", "start from assets/examples/")
    builder = _Builder(file)
    data = builder.build(node, "", 0)
    if builder.problems:
        raise InputError(builder.problems)
    return Source(data, builder.lines, file)


class _Builder:
    def __init__(self, file: str | None) -> None:
        self.file = file
        self.lines: dict[str, int] = {}
        self.count = 0
        self.problems: list[Problem] = []

    def build(self, node: yaml.Node, path: str, depth: int) -> object:
        self.count += 1
        if self.count > MAX_VALUES:
            raise _fail(self.file, f"document expands to more than {MAX_VALUES:,} values "
                                   "(an alias bomb?)", "remove the repeated aliases", node.start_mark.line + 1)
        if depth > MAX_DEPTH:
            raise _fail(self.file, f"nesting deeper than {MAX_DEPTH} levels",
                        "flatten the document", node.start_mark.line + 1)
        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path, depth)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, f"{path}[{i}]", depth + 1) for i, item in enumerate(node.value)]
        return self._scalar(node)

    def _mapping(self, node: yaml.MappingNode, path: str, depth: int) -> dict:
        result: dict = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise _fail(self.file, "YAML merge keys (<<) are not supported in answers files",
                            "write the keys out", key_node.start_mark.line + 1)
            key = self._scalar(key_node) if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, (str, int, float, bool)) or isinstance(key, bool):
                key = str(key) if key is not None else None
            if key is None:
                raise _fail(self.file, "a mapping key must be a plain value", "",
                            key_node.start_mark.line + 1)
            key = str(key)
            child = f"{path}.{key}" if path else key
            if key in result:
                self.problems.append(Problem(
                    child, f"duplicate key `{key}` (first at line {self.lines.get(child)})",
                    "keep one of them: YAML tools silently use only the last", line=key_node.start_mark.line + 1,
                    file=self.file))
                continue
            self.lines[child] = key_node.start_mark.line + 1
            result[key] = self.build(value_node, child, depth + 1)
        return result

    def _scalar(self, node: yaml.ScalarNode) -> object:
        constructor = yaml.SafeLoader.yaml_constructors.get(node.tag)
        if constructor is None or node.tag in ("tag:yaml.org,2002:binary", "tag:yaml.org,2002:timestamp"):
            return node.value
        try:
            return constructor(_SCALAR_LOADER, node)
        except (yaml.YAMLError, ValueError):
            return node.value


# One loader instance, only used for its scalar constructors (no stream behind it).
_SCALAR_LOADER = yaml.SafeLoader("")
