"""k3swiz core: answers, catalog, validation, rendering, planning and SSH execution.

Nothing in this package may import Textual or the `screens` package; a test proves it.
"""

__version__ = "0.1.0"
