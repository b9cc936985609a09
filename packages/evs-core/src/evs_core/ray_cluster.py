"""Connecting to a Ray cluster, shared by ``evs eval --executor ray`` and ``evs perf --ray-workers``.

Ray is optional and imported only by :func:`connect`. The checks here run before anything is
sent or written: a bounded TCP check of the address (seconds, not minutes of Ray's retries), and
Ray's own start-up warnings kept off evs's one-line errors.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import tempfile
from typing import Any

from evs_core.errors import ConfigError, MissingDependencyError


def check_address(address: str) -> None:
    """A bounded TCP check of ``HOST:PORT`` / ``ray://HOST:PORT``; ``auto`` is left to Ray."""
    if address == "auto":
        return  # the cluster this machine belongs to (RAY_ADDRESS or a local `ray start`)
    host, _, port = address.removeprefix("ray://").rpartition(":")
    try:
        port_n = int(port)
    except ValueError:
        raise ConfigError(f"--ray-address must be auto, HOST:PORT or ray://HOST:PORT, not '{address}'") from None
    try:
        with socket.create_connection((host or "127.0.0.1", port_n), timeout=5):
            pass
    except OSError as exc:
        raise ConfigError(f"cannot reach the Ray cluster at {address}: {exc.strerror or exc}") from None


@contextlib.contextmanager
def stderr_to_log():
    """Ray's C++ core writes start-up warnings straight to file descriptor 2 (e.g. how it found
    this host's address); they go to a log file so evs's own one-line errors stay readable."""
    log = tempfile.NamedTemporaryFile(prefix="evs-ray-", suffix=".log", delete=False)
    saved = os.dup(2)
    try:
        sys.stderr.flush()
        os.dup2(log.fileno(), 2)
        yield log.name
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        log.close()


def connect(address: str | None, extra: str) -> tuple[Any, bool]:
    """``(ray, started_here)``: connected to ``address`` (None: a local Ray is started).

    ``extra`` names the pip extra that brings Ray, for the error when it is missing."""
    if address:
        check_address(address)
    os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "error")  # a user's setting wins
    with stderr_to_log():
        try:
            import ray
        except ImportError:
            raise MissingDependencyError(f'Ray is not installed: pip install "{extra}"') from None
        if ray.is_initialized():
            return ray, False
        kwargs: dict[str, Any] = {}
        host = (address or "").removeprefix("ray://").rpartition(":")[0]
        if host.startswith("127.") or host == "localhost":
            kwargs["_node_ip_address"] = "127.0.0.1"  # a loopback cluster: no look-up of this host's address
        try:
            ray.init(address=address or None, include_dashboard=False, log_to_driver=False,
                     configure_logging=False, ignore_reinit_error=True, **kwargs)
        except ConnectionError as exc:
            raise ConfigError(f"cannot connect to the Ray cluster at {address}: {str(exc).splitlines()[0]}") from None
    return ray, True
