"""evs-core: the contracts every evs package builds on.

Importing this package is cheap: it pulls in only the standard library, pluggy and pydantic
on demand. Heavy libraries (torch, transformers, datasets) are imported inside the functions
that need them, never here.
"""

__version__ = "0.1.0"

from evs_core.errors import EvsError  # noqa: E402

__all__ = ["EvsError", "__version__"]
