"""Where the shipped data files (catalog, stylesheets, examples) are found."""

from importlib.resources import files
from pathlib import Path


def asset_path(name: str) -> Path:
    """Path of a file shipped in assets/ (installed as the package `k3swiz_assets`)."""
    return Path(str(files("k3swiz_assets").joinpath(name)))
