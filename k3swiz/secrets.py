"""Secret values: a str wrapper that never shows itself by accident.

A token or sudo password is wrapped as soon as it is read. `str()`, `repr()`,
f-strings and logging all print `***`; only `.reveal()` gives the value, so
every place a secret leaves the process is a visible call in the code.
"""

from __future__ import annotations

MASK = "***"


class Secret:
    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __str__(self) -> str:
        return MASK

    def __repr__(self) -> str:
        return f"Secret({MASK})"

    def __format__(self, spec: str) -> str:
        return MASK

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)

    # Pickling or deep-copying must not smuggle the value into a place that prints it.
    def __reduce__(self):  # pragma: no cover - defensive
        raise TypeError("Secret values are not picklable")


def mask_text(text: str, secrets: list[Secret] | tuple[Secret, ...]) -> str:
    """Replace every occurrence of each secret's value in text with ***."""
    for secret in secrets:
        value = secret.reveal() if isinstance(secret, Secret) else str(secret)
        if value:
            text = text.replace(value, MASK)
    return text
