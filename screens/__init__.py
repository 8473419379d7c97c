"""The Textual wizard: a thin layer that builds Answers and shows the core's plans and events."""
