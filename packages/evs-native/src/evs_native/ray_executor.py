"""``--executor ray``: the model side of an eval spread over a Ray cluster.

The engine stays where it is. On the driver, :class:`RayModelPool` takes the place of the model
adapter: each request the engine would send goes to one of ``replicas`` Ray actors, and each
actor holds the real adapter (an OpenAI-compatible client for one endpoint, or a local model's
weights on the GPU or CPU resources it asked for; concurrent requests reach the actor's own
micro-batching). Everything else — data, prompts, scoring, the judge, the run folder — stays on
the driver, which alone appends predictions and reviews. So a Ray run writes the same files as a
local one, ``--use-cache`` resumes it and ``--rescore`` re-scores it the same way.

A replica that dies (its node is lost, its process is killed) is dropped from the pool and the
requests it had in flight are sent again to a live replica: a unit's prediction is written once,
when an answer comes back, so none is lost and none is duplicated. When no replica is left, the
remaining units are recorded as failed (``RayWorkerLost``) and can be resumed.

Every check happens in :meth:`RayModelPool.preflight`, before the run folder is made and before
any model call: an unreachable address, a cluster without the requested resources, workers
without evs or with other evs versions each stop the run with one line.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import os
import socket
from typing import Any

from evs_core.errors import ConfigError, EvsError
from evs_core.models import ModelAdapter, Request
from evs_core.schema import ModelOutput

#: The distributions whose versions must match between the driver and the workers.
CHECKED = ("evs-core", "evs-native")
#: Seconds allowed for connecting to a cluster and for replicas to start.
CONNECT_TIMEOUT_S = 30.0
START_TIMEOUT_S = 300.0


def _versions() -> dict[str, str]:
    out = {}
    for dist in CHECKED:
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            out[dist] = "missing"
    return out


def version_mismatch(hellos: list[dict[str, Any]], mine: dict[str, str]) -> str | None:
    """The line naming a worker whose evs versions differ from the driver's, or None."""
    for h in hellos:
        theirs = h["versions"]
        if theirs != mine:
            diff = ", ".join(f"{k} {theirs.get(k, 'missing')} (driver {v})" for k, v in mine.items()
                             if theirs.get(k) != v)
            return f"evs versions differ on Ray worker {h['host']}: {diff}"
    return None


def describe_start_failure(text: str) -> str:
    """One line for a replica that died while starting (most often: evs missing on the worker)."""
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    missing = next((ln for ln in lines if "ModuleNotFoundError" in ln or "No module named" in ln), None)
    if missing:
        return (f"evs is not installed on the Ray workers ({missing}): install evs-core and evs-native "
                "there, at the driver's versions")
    return f"a Ray replica failed to start: {lines[-1] if lines else 'no reason given'}"


class _Replica:
    """One model replica inside a Ray actor (the class is wrapped by ``ray.remote`` at run time)."""

    def __init__(self, config: dict[str, Any], model_type: str, replica: int) -> None:
        self.config = config
        self.model_type = model_type
        self.replica = replica
        self.model = None

    async def hello(self) -> dict[str, Any]:
        return {"versions": _versions(), "host": socket.gethostname(), "pid": os.getpid()}

    async def start(self) -> None:
        from evs_core.config import make_config
        from evs_core.registry import get_registries

        cfg = make_config(self.config)
        self.model = get_registries().models.load(self.model_type)(cfg)
        await self.model.preflight()

    async def generate(self, request: Request) -> ModelOutput:
        try:
            return await self.model.agenerate(request)
        except Exception as exc:  # noqa: BLE001 - adapters should not raise; the unit fails, not the actor
            return ModelOutput(error=f"{type(exc).__name__}: {exc}")

    async def close(self) -> None:
        if self.model is not None:
            await self.model.aclose()


class RayModelPool(ModelAdapter):
    """The run's model as ``replicas`` Ray actors; the engine sees one adapter."""

    name = "ray"

    def __init__(self, config, model_type: str) -> None:
        super().__init__(config)
        self.model_type = model_type
        self.replicas = int(config.replicas)
        urls = [u.strip() for u in (config.api_url or "").split(",") if u.strip()]
        self.urls = urls
        if len(urls) > 1 and "replicas" in config.model_fields_set and self.replicas != len(urls):
            raise ConfigError(f"--replicas {self.replicas} but {len(urls)} endpoints in --api-url: give one per replica")
        if len(urls) > 1:
            self.replicas = len(urls)
        self.resources = dict(config.ray_resources or {})
        for key, value in self.resources.items():
            if key not in ("num_cpus", "num_gpus", "memory", "resources") or (
                    key != "resources" and not (isinstance(value, (int, float)) and value >= 0)):
                raise ConfigError(f"ray_resources: bad entry {key}={value!r} (num_cpus, num_gpus, memory, resources)")
        self.per_replica = int(config.concurrency)
        self.max_concurrency = self.replicas * self.per_replica
        self._actors: list[Any] = []
        self._alive: list[bool] = []
        self._inflight: list[int] = []
        self._ray = None
        self._started_ray = False
        self.lost = 0

    def _replica_config(self, i: int) -> dict[str, Any]:
        data = self.config.model_dump(exclude_unset=False)
        for key in ("executor", "ray_address", "replicas", "ray_resources", "use_cache", "rescore", "judge"):
            data.pop(key, None)
        if self.urls:
            data["api_url"] = self.urls[i % len(self.urls)]
        return data

    async def preflight(self) -> None:
        from evs_core.ray_cluster import connect

        ray, self._started_ray = connect(self.config.ray_address, "evs-native[ray]")
        self._ray = ray
        self._check_resources(ray)
        remote = ray.remote(_Replica)
        opts = {k: v for k, v in self.resources.items()}
        opts.setdefault("num_cpus", 1)
        self._actors = [remote.options(max_concurrency=max(1, self.per_replica) + 2, max_restarts=0,
                                       **opts).remote(self._replica_config(i), self.model_type, i)
                        for i in range(self.replicas)]
        self._alive = [True] * self.replicas
        self._inflight = [0] * self.replicas
        try:
            hellos = await asyncio.wait_for(asyncio.gather(*(a.hello.remote() for a in self._actors)),
                                            START_TIMEOUT_S)
        except TimeoutError:
            raise ConfigError(f"Ray replicas did not start within {START_TIMEOUT_S:g} s") from None
        except ray.exceptions.RayActorError as exc:
            raise ConfigError(describe_start_failure(str(exc))) from None
        problem = version_mismatch(hellos, _versions())
        if problem:
            raise ConfigError(problem)
        try:
            await asyncio.gather(*(a.start.remote() for a in self._actors))
        except ray.exceptions.RayTaskError as exc:
            cause = exc.cause if hasattr(exc, "cause") else exc
            raise EvsError(f"a Ray replica could not load the model: {type(cause).__name__}: {cause}") from None

    def _check_resources(self, ray) -> None:
        have = ray.cluster_resources()
        need_cpu = self.resources.get("num_cpus", 1) * self.replicas
        need_gpu = self.resources.get("num_gpus", 0) * self.replicas
        if need_cpu > have.get("CPU", 0):
            raise ConfigError(f"the Ray cluster has {have.get('CPU', 0):g} CPUs; {self.replicas} replicas x "
                              f"{self.resources.get('num_cpus', 1):g} CPUs need {need_cpu:g}")
        if need_gpu > have.get("GPU", 0):
            raise ConfigError(f"the Ray cluster has {have.get('GPU', 0):g} GPUs; {self.replicas} replicas x "
                              f"{self.resources.get('num_gpus', 0):g} GPUs need {need_gpu:g}")
        for name, amount in (self.resources.get("resources") or {}).items():
            if amount * self.replicas > have.get(name, 0):
                raise ConfigError(f"the Ray cluster has {have.get(name, 0):g} of resource '{name}'; "
                                  f"{self.replicas} replicas need {amount * self.replicas:g}")

    def _pick(self) -> int | None:
        live = [i for i, ok in enumerate(self._alive) if ok]
        if not live:
            return None
        return min(live, key=lambda i: self._inflight[i])

    async def agenerate(self, request: Request) -> ModelOutput:
        ray = self._ray
        while True:
            i = self._pick()
            if i is None:
                return ModelOutput(error="RayWorkerLost: every Ray replica is gone; resume with --use-cache")
            self._inflight[i] += 1
            try:
                return await self._actors[i].generate.remote(request)
            except (ray.exceptions.RayActorError, ray.exceptions.ActorUnavailableError):
                if self._alive[i]:
                    self._alive[i] = False
                    self.lost += 1
                # sent again to a live replica: the unit is written once, when an answer comes back
                await asyncio.sleep(0)
            finally:
                self._inflight[i] -= 1

    async def aclose(self) -> None:
        ray = self._ray
        if ray is None:
            return
        for i, a in enumerate(self._actors):
            if self._alive[i]:
                try:
                    await asyncio.wait_for(a.close.remote(), 30)
                except Exception:  # noqa: BLE001 - closing is best effort
                    pass
            try:
                ray.kill(a)
            except Exception:  # noqa: BLE001
                pass
        self._actors = []
        if self._started_ray:
            ray.shutdown()
