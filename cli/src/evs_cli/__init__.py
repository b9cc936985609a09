"""evs-cli: the thin ``evs`` meta-command."""

__version__ = "0.1.0"
