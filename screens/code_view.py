"""Read-only code with syntax highlighting that follows the app's light or dark theme.

rich's ANSI themes colour tokens with the terminal's 16 colours, which Textual maps
through the current theme, so no colour is fixed here. Pygments loads lazily.
"""

from __future__ import annotations

from textual.app import App
from textual.widgets import Static


def highlighted(text: str, lexer: str, app: App):
    from rich.syntax import Syntax
    theme = "ansi_dark" if app.current_theme.dark else "ansi_light"
    return Syntax(text, lexer, theme=theme, background_color="default", word_wrap=False)


class CodeView(Static):
    """A Static that shows `text` highlighted as `lexer` (yaml, bash, diff)."""

    DEFAULT_CSS = "CodeView { height: auto; }"

    def __init__(self, text: str = "", lexer: str = "yaml", id: str | None = None, classes: str | None = None) -> None:
        super().__init__("", id=id, classes=classes)
        self.text, self.lexer = text, lexer

    def on_mount(self) -> None:
        self.show(self.text)

    def show(self, text: str) -> None:
        self.text = text
        self.update(highlighted(text, self.lexer, self.app))
