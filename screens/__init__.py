"""The Textual wizard: a thin layer that builds Answers and shows the core's plans and events.

Public names are imported lazily so `import screens` stays cheap (the CLI imports
`screens.app` only when the wizard opens).
"""

__all__ = ["WizardApp", "WizardState", "build_app", "run_wizard"]


def __getattr__(name: str):
    if name in ("WizardApp", "build_app", "run_wizard"):
        from . import app
        return getattr(app, name)
    if name == "WizardState":
        from .wizard_state import WizardState
        return WizardState
    raise AttributeError(f"module 'screens' has no attribute {name!r}")
