"""What a run shows while the engine works (apply and day-2 runs): one row per node with its
phase, state and elapsed time, and a log that keeps its last line in view."""

from __future__ import annotations

from textual import events
from textual.widgets import DataTable, RichLog

# Fixed widths: widths grown from the values seen would depend on which events were drawn.
COLUMNS = {"node": 14, "role": 6, "phase": 20, "state": 10, "elapsed": 8}
# Plain symbols, not colours: DataTable cells take Rich markup, which knows no theme variables.
STATE_STYLE = {"done": "✓ done", "failed": "✗ failed", "running": "▶ running", "skipped": "- skipped",
               "pending": "· pending"}


class ProgressTable(DataTable):
    """Rows keyed by node name; `show(event)` updates the event's node and keeps its state."""

    def __init__(self, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.node_states: dict[str, str] = {}

    def add_nodes(self, nodes) -> None:
        if not self.columns:
            for column, width in COLUMNS.items():
                self.add_column(column, key=column, width=width)
        for node in nodes:
            self.add_row(node.name, node.role, "", STATE_STYLE["pending"], "", key=node.name)
            self.node_states[node.name] = "pending"

    def show(self, event) -> None:
        """Update the event's node row (events of the run as a whole have no row)."""
        name = getattr(event, "node", "") or ""
        if name not in self.node_states:
            return
        state = getattr(event, "state", "") or ""
        self.node_states[name] = state
        self.update_cell(name, "phase", getattr(event, "phase", "") or "")
        self.update_cell(name, "state", STATE_STYLE.get(state, state))
        elapsed = getattr(event, "elapsed", None)
        self.update_cell(name, "elapsed", f"{elapsed:.1f}s" if isinstance(elapsed, (int, float)) else "")


class FollowingLog(RichLog):
    """A RichLog that stays at its end when it shrinks (e.g. the table above it grows).

    RichLog scrolls to the end as lines are written; if the layout then makes it shorter,
    its scroll position stays where it was and the newest lines fall out of view.
    """

    def __init__(self, id: str | None = None) -> None:
        super().__init__(id=id, wrap=True, markup=False, max_lines=5000)
        self._was_at_end = True

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        self._was_at_end = new >= self.max_scroll_y

    def on_resize(self, event: events.Resize) -> None:
        super().on_resize(event)
        if self.auto_scroll and self._was_at_end:
            self.scroll_end(animate=False, immediate=False, x_axis=False)
