"""Saving the wizard's answers: the answers file, and the generated token's file beside it.

The answers file holds the token by reference only (`token: {file: ./NAME.token}`);
a token generated in the wizard is written to that file, 0600 from the first byte,
and never overwrites an existing file.
"""

from __future__ import annotations

import os
from pathlib import Path

from k3swiz.answers import TokenRef, save_answers, to_yaml

from .wizard_state import WizardState


def write_new_token_file(path: Path, token_text: str) -> None:
    """Create `path` holding the token; O_EXCL: an existing file is kept (it is the user's)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(token_text + "\n")


def save_wizard(state: WizardState, path: Path) -> list[str]:
    """Save answers (and a generated token) to `path`; return what was written, for the user."""
    path = Path(os.path.expanduser(str(path)))
    answers = state.answers
    # Relative paths in an answers file are relative to its folder: keep them meaning the same files.
    answers.base_dir = path.resolve().parent
    written = []
    token_ref = answers.cluster.token
    if token_ref.value and not (token_ref.file or token_ref.env):
        written += move_inline_token(state)
    elif state.new_token is not None and token_ref.file:
        token_path = answers.local_path(token_ref.file)
        if not token_path.exists():
            write_new_token_file(token_path, state.new_token.reveal())
            written.append(f"token {token_path} (0600)")
        state.new_token = None
    save_answers(answers, path)
    written.insert(0, f"answers {path}")
    state.save_path = path
    state.saved_text = to_yaml(answers)
    return written


def move_inline_token(state: WizardState) -> list[str]:
    """A token written inline in a loaded file moves to ./NAME.token: the wizard saves by reference."""
    answers = state.answers
    reference = f"./{answers.cluster.name or 'k3s'}.token"
    path = answers.local_path(reference)
    value = answers.cluster.token.value.reveal()
    if path.exists():
        if path.read_text(encoding="utf-8", errors="replace").strip() != value:
            raise OSError(f"{path} exists with another token; the inline token was not saved "
                          "(choose the token file on the Token step)")
        answers.cluster.token = TokenRef(file=reference)
        return []
    write_new_token_file(path, value)
    answers.cluster.token = TokenRef(file=reference)
    return [f"token {path} (0600, moved out of the answers file)"]
