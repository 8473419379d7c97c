"""Dataclasses <-> plain YAML data, driven by the dataclass fields alone.

The answers model is declared once (k3swiz/answers.py); this module derives
from it everything that must agree: which keys exist (unknown ones get a
did-you-mean), their types, defaults, the saving order and the JSON Schema.
A field's YAML key is its name with `_` -> `-` unless metadata gives `key`.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from typing import Any, Literal, get_args, get_origin

from .problems import Report
from .secrets import Secret


def public_fields(cls_or_obj: Any) -> list[dataclasses.Field]:
    """The fields that appear in YAML (not the ones marked internal)."""
    return [f for f in dataclasses.fields(cls_or_obj) if not f.metadata.get("internal")]


def key_of(f: dataclasses.Field) -> str:
    return f.metadata.get("key", f.name.replace("_", "-"))


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _unwrap_optional(tp: Any) -> tuple[Any, bool]:
    if get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        if len(args) == 1 and len(get_args(tp)) == 2:
            return args[0], True
    return tp, False


def _type_name(tp: Any) -> str:
    tp, _ = _unwrap_optional(tp)
    origin = get_origin(tp)
    if origin is Literal:
        return " | ".join(repr(a) for a in get_args(tp))
    if origin is list:
        return f"a list of {_type_name(get_args(tp)[0])}s"
    if origin is dict or tp is dict:
        return "a mapping"
    if dataclasses.is_dataclass(tp):
        return "a mapping"
    return {str: "text", int: "a whole number", bool: "true or false", float: "a number",
            Secret: "text"}.get(tp, getattr(tp, "__name__", str(tp)))


def from_data(cls: type, data: Any, path: str, report: Report) -> Any:
    """Build `cls` from plain data, reporting every unknown key and wrong type; never raises."""
    if not isinstance(data, dict):
        report.add(path, f"must be a mapping, not {_describe(data)}", "see `k3swiz schema`")
        data = {}
    fields = {key_of(f): f for f in public_fields(cls)}
    hints = _hints(cls)
    for key in data:
        if key not in fields:
            near = difflib.get_close_matches(str(key), list(fields), n=1, cutoff=0.6)
            fix = f"did you mean `{near[0]}`?" if near else f"known keys here: {', '.join(fields)}"
            report.add(_join(path, key), f"unknown key `{key}`", fix)
    values = {}
    for key, f in fields.items():
        if key in data:
            values[f.name] = convert(hints[f.name], data[key], _join(path, key), report, f)
    return cls(**values)


def convert(tp: Any, value: Any, path: str, report: Report, f: dataclasses.Field | None = None) -> Any:
    inner, optional = _unwrap_optional(tp)
    if value is None:
        if optional:
            return None
        report.add(path, f"needs a value ({_type_name(inner)})", "fill it in or remove the key")
        return _default(f)
    origin = get_origin(inner)
    if dataclasses.is_dataclass(inner):
        return from_data(inner, value, path, report)
    if origin is list:
        if not isinstance(value, list):
            report.add(path, f"must be {_type_name(inner)}, not {_describe(value)}",
                       "write it as a YAML list: [a, b]")
            return _default(f)
        item_tp = get_args(inner)[0]
        items = [convert(item_tp, item, f"{path}[{i}]", report) for i, item in enumerate(value)]
        # A wrong item is reported above and left out, so later checks never meet a None
        # where the model promises e.g. a str (a label `{a: b}` used to crash validation).
        return [item for item in items if item is not None]
    if inner is dict or origin is dict:
        if not isinstance(value, dict):
            report.add(path, f"must be a mapping, not {_describe(value)}", "write it as key: value lines")
            return _default(f)
        return value
    if origin is Literal:
        choices = get_args(inner)
        if value not in choices:
            near = difflib.get_close_matches(str(value), [str(c) for c in choices], n=1)
            fix = f"did you mean `{near[0]}`?" if near else ""
            report.add(path, f"`{value}` is not one of: {', '.join(map(str, choices))}", fix)
            return _default(f)
        return value
    return _scalar(inner, value, path, report, f)


def _scalar(tp: Any, value: Any, path: str, report: Report, f: dataclasses.Field | None) -> Any:
    if tp is Secret:
        if isinstance(value, (str, int)) and not isinstance(value, bool):
            return Secret(str(value))
    elif tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif tp is str:
        if isinstance(value, str):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)   # e.g. a port or a version someone wrote unquoted
    report.add(path, f"must be {_type_name(tp)}, not {_describe(value)}", "")
    return _default(f)


def _default(f: dataclasses.Field | None) -> Any:
    if f is None:
        return None
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return None


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    text = repr(value) if isinstance(value, str) else str(value)
    return f"`{text[:40]}`"


def _join(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


def to_data(obj: Any, *, keep_defaults: bool = False, reveal: bool = False) -> Any:
    """Plain data in field order; None values and (unless asked) defaults left out."""
    if dataclasses.is_dataclass(obj):
        out = {}
        for f in public_fields(obj):
            value = getattr(obj, f.name)
            if f.metadata.get("secret") and not reveal:
                continue
            if value is None or (not keep_defaults and value == _default(f) and not f.metadata.get("always")):
                continue
            out[key_of(f)] = to_data(value, keep_defaults=keep_defaults, reveal=reveal)
        return out
    if isinstance(obj, list):
        return [to_data(v, keep_defaults=keep_defaults, reveal=reveal) for v in obj]
    if isinstance(obj, Secret):
        return obj.reveal() if reveal else None
    return obj


def json_schema(cls: type, title: str | None = None) -> dict:
    """A JSON Schema (draft 2020-12) of the dataclass tree, for editors."""
    props, required = {}, []
    hints = _hints(cls)
    for f in public_fields(cls):
        prop = _schema_of(hints[f.name])
        if f.metadata.get("doc"):
            prop["description"] = f.metadata["doc"]
        default = _default(f)
        if default is not None and not dataclasses.is_dataclass(default):
            prop["default"] = default
        props[key_of(f)] = prop
        if f.metadata.get("required"):
            required.append(key_of(f))
    schema: dict = {"type": "object", "properties": props, "additionalProperties": False}
    if required:
        schema["required"] = required
    if title:
        schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": title, **schema}
    return schema


def _schema_of(tp: Any) -> dict:
    inner, optional = _unwrap_optional(tp)
    origin = get_origin(inner)
    if dataclasses.is_dataclass(inner):
        schema = json_schema(inner)
    elif origin is list:
        schema = {"type": "array", "items": _schema_of(get_args(inner)[0])}
    elif inner is dict or origin is dict:
        schema = {"type": "object"}
    elif origin is Literal:
        schema = {"enum": list(get_args(inner))}
    else:
        schema = {"type": {str: "string", int: "integer", bool: "boolean", float: "number",
                           Secret: "string"}.get(inner, "string")}
    if optional:
        schema = {"anyOf": [schema, {"type": "null"}]}
    return schema
