"""evs-arena: pairwise model battles judged by an LLM, Bradley–Terry ratings, leaderboards."""

__version__ = "0.1.0"
