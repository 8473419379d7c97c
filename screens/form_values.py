"""Turning what people type into answer values and back: comma lists, numbers, YAML blocks.

These are input parsing only ("is this a number", "is this YAML"); whether a value
is acceptable for k3s is the core validator's business.
"""

from __future__ import annotations

from typing import Any

import yaml


class FormError(ValueError):
    """Text that cannot become a value at all; the message is shown under the field."""


def split_list(text: str) -> list[str]:
    """ "a, b,,c " -> ["a", "b", "c"] (commas or spaces separate)."""
    return [part for part in text.replace(",", " ").split() if part]


def join_list(items: list[str] | None) -> str:
    return ", ".join(items or [])


def parse_int(text: str, what: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise FormError(f"{what} must be a whole number, not `{text.strip()}`") from None


def optional_text(text: str) -> str | None:
    return text.strip() or None


def parse_mapping(text: str, what: str) -> dict:
    """A YAML mapping typed in a text area; empty text is an empty mapping."""
    if not text.strip():
        return {}
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise FormError(f"{what} is not valid YAML{where}: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise FormError(f"{what} must be a YAML mapping (key: value lines), not a {type(data).__name__}")
    return data


def dump_mapping(data: dict[str, Any] | None) -> str:
    if not data:
        return ""
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False, allow_unicode=True)
