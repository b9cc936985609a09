"""What the code benchmarks (humaneval, live_code_bench) share about the sandbox they run in."""

from __future__ import annotations

import logging
from typing import Any

from evs_core.errors import ConfigError

log = logging.getLogger("evs.eval")


def check_sandbox(bench_name: str, args: dict[str, Any]) -> None:
    """Refuse, before any model call, a code benchmark whose sandbox cannot start here.

    ``dataset_args.<name>.sandbox``: ``bwrap`` (default: namespaces, unprivileged uid) or the
    explicit opt-out ``unsafe-none`` (a plain subprocess; kept in the run's config and report,
    and in every review's ``metadata.isolation``).
    """
    from evs_native import sandbox

    value = args.get("sandbox")
    if value not in sandbox.ISOLATIONS:
        raise ConfigError(f"dataset_args.{bench_name}.sandbox must be one of {', '.join(sandbox.ISOLATIONS)}, "
                          f"not {value!r}")
    if value == "unsafe-none":
        log.warning("%s: model-written code runs WITHOUT namespaces (dataset_args.%s.sandbox = unsafe-none)",
                    bench_name, bench_name)
        return
    reason = sandbox.availability(value)
    if reason:
        raise ConfigError(
            f"{bench_name} runs model-written code in a sandbox that cannot start here: {reason}. Install "
            f"bubblewrap, or opt out explicitly with --dataset-args '{{\"{bench_name}\": {{\"sandbox\": "
            f"\"unsafe-none\"}}}}' (recorded in the report)")
