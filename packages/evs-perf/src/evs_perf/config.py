"""Typed configuration of ``evs perf``: the run (:class:`PerfConfig`) and one load point
(:class:`PointSpec`).

:meth:`PerfConfig.from_options` turns the CLI's option dict (or a plain dict from Python, with
the same names, EvalScope's spellings included) into a validated configuration. Every check
that can fail on the user's input happens there, before any request is sent or file written:
a bad value raises :class:`~evs_core.errors.ConfigError` with one line naming the option.

Standard library only (imported by the run, never by ``evs perf --help``).
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evs_core.errors import ConfigError, suggest


# -- parsing helpers -----------------------------------------------------------------------------
def _parts(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        out = []
        for v in value:
            out += _parts(v)
        return out
    return [p for p in str(value).replace(" ", ",").split(",") if p]


def num_list(value, name: str, kind=int, allow_inf=False, allow_zero=True) -> list:
    """``"1,10,50"``, ``"1 10 50"``, ``[1, 10]`` -> numbers; refuses nan, negatives and junk."""
    out = []
    for part in _parts(value):
        if allow_inf and part.lower() in ("inf", "infinity", "-1"):
            out.append(math.inf)  # EvalScope's --rate -1: as fast as possible
            continue
        try:
            v = kind(part)
        except ValueError:
            raise ConfigError(f"{name}: '{part}' is not a number") from None
        if kind is float and (math.isnan(v) or math.isinf(v)):
            raise ConfigError(f"{name}: '{part}' is not a finite number" + (" (use 'inf' or -1)" if allow_inf else ""))
        if v < 0 or (not allow_zero and v == 0):
            raise ConfigError(f"{name}: values must be positive, not {part}")
        out.append(v)
    return out


def _positive(value, name: str, kind=float, allow_none=True, allow_zero=False):
    if value is None:
        if allow_none:
            return None
        raise ConfigError(f"{name} is required")
    try:
        v = kind(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name}: {value!r} is not a number") from None
    if kind is float and (math.isnan(v) or math.isinf(v)):
        raise ConfigError(f"{name}: {value!r} is not a finite number")
    if v < 0 or (v == 0 and not allow_zero):
        raise ConfigError(f"{name} must be {'at least 0' if allow_zero else 'positive'}, not {value}")
    return v


def parse_headers(values) -> dict[str, str]:
    """``'Name: value'``, EvalScope's ``key=value`` (space-separated or repeated), or a JSON object."""
    out: dict[str, str] = {}
    if isinstance(values, dict):
        return {str(k): str(v) for k, v in values.items()}
    if isinstance(values, str):
        values = [values]
    for v in values or ():
        v = str(v).strip()
        if not v:
            continue
        if v.startswith("{"):
            try:
                obj = json.loads(v)
            except ValueError as exc:
                raise ConfigError(f"--headers: invalid JSON: {exc}") from None
            if not isinstance(obj, dict):
                raise ConfigError("--headers: the JSON must be an object")
            out.update({str(k): str(x) for k, x in obj.items()})
            continue
        colon, eq = v.find(":"), v.find("=")
        if eq > 0 and (colon < 0 or eq < colon):
            name, _, value = v.partition("=")
        elif colon > 0:
            name, _, value = v.partition(":")
        else:
            raise ConfigError(f"--headers: expected 'Name: value' or 'name=value', got {v!r}")
        if not name.strip() or any(c in name for c in " \t\r\n") or any(c in value for c in "\r\n"):
            raise ConfigError(f"--headers: bad header {v!r}")
        out[name.strip()] = value.strip()
    return out


def _json_object(value, name: str) -> dict:
    if value is None or value == "":
        return {}
    if isinstance(value, dict):
        return dict(value)
    try:
        obj = json.loads(value)
    except ValueError as exc:
        raise ConfigError(f"{name} is not valid JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise ConfigError(f"{name} must be a JSON object")
    return obj


#: The --dataset-args each dataset takes (EvalScope's names), with a check of the value.
DATASET_ARGS = {
    "workload_trace": {
        "speed": ("a number above 0 (2 replays the trace twice as fast)",
                  lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0),
        "model_override": ("a model name", lambda v: isinstance(v, str) and bool(v)),
        "model_mapping": ("an object of model name -> model name",
                          lambda v: isinstance(v, dict) and all(isinstance(x, str) for x in (*v, *v.values()))),
        "match_output_length": ("true or false", lambda v: isinstance(v, bool)),
    },
}


def check_dataset_args(dataset: str, args: dict[str, Any]) -> dict[str, Any]:
    """``--dataset-args`` checked against what ``dataset`` takes: one line naming a bad key or value."""
    if not args:
        return {}
    valid = DATASET_ARGS.get(dataset)
    if valid is None:
        raise ConfigError(f"--dataset-args: --dataset {dataset} takes no dataset args (its options are flags: "
                          "--dataset-path, --input-tokens, --min/--max-prompt-length, --embedding-batch, "
                          "--min/--max-turns)")
    for k, v in args.items():
        if k not in valid:
            raise ConfigError(f"--dataset-args: unknown key '{k}' for --dataset {dataset}{suggest(k, list(valid))} "
                              f"(valid: {', '.join(valid)})")
        what, ok = valid[k]
        if not ok(v):
            raise ConfigError(f"--dataset-args: {k} must be {what}, not {v!r}")
    return dict(args)


def _range_text(value, name: str) -> str:
    """``N``, ``MIN-MAX`` or EvalScope's two values ``MIN MAX`` -> ``"N"`` / ``"MIN-MAX"``."""
    if isinstance(value, (list, tuple)):
        value = " ".join(str(v) for v in value)
    s = str(value).strip()
    parts = s.replace(",", " ").split()
    if len(parts) == 2:
        s = f"{parts[0]}-{parts[1]}"
    elif len(parts) != 1:
        raise ConfigError(f"{name} takes N, MIN-MAX or two values MIN MAX, not {value!r}")
    from evs_perf.datasets import parse_range

    parse_range(s, name)
    return s


def read_text_arg(value: str | None, name: str) -> str | None:
    """``TEXT`` or ``@FILE`` (read as UTF-8)."""
    if value is None or not str(value).startswith("@"):
        return value
    p = Path(str(value)[1:]).expanduser()
    try:
        return p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{name}: no such file: {p}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{name}: {p} is not UTF-8 text") from None
    except OSError as exc:
        raise ConfigError(f"{name}: cannot read {p}: {exc.strerror}") from None


# -- the run configuration ---------------------------------------------------------------------
@dataclass
class PerfConfig:
    """Every option of one ``evs perf`` run, parsed and checked (docs/perf.md, CLI reference)."""

    url: str
    api: str = "chat"
    model: str | None = None
    api_key: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    # load
    concurrency: list[int] = field(default_factory=lambda: [1])
    concurrency_given: bool = False
    requests: list[int] = field(default_factory=list)
    rate: list[float] = field(default_factory=list)
    arrival: str = "poisson"
    open_loop: bool = False
    duration: float | None = None
    warmup: int | None = None
    warmup_ratio: float | None = None
    ramp_up: float = 0.0
    workers: int | None = None  # None: auto
    loop: str = "auto"
    ray_address: str | None = None  # load generators on Ray (evs_perf.ray_fanout)
    ray_workers: int | None = None
    sleep_interval: float = 0.0
    # data
    dataset: str = "random"
    dataset_path: str | None = None
    dataset_args: dict[str, Any] = field(default_factory=dict)
    tokenizer: str | None = None
    input_tokens: str = "128"
    max_tokens: str = "256"
    min_tokens: int | None = None
    prefix_tokens: int = 0
    min_prompt_length: int | None = None
    max_prompt_length: int | None = None
    image_count: int = 1
    image_size: tuple[int, int] = (224, 224)
    num_prompts: int | None = None
    embedding_batch: int | None = None
    prompt: str | None = None
    query_template: str | None = None
    apply_chat_template: bool | None = None
    multi_turn: bool = False
    min_turns: int = 1
    max_turns: int | None = None
    # request
    stream: bool = True
    extra_body: dict[str, Any] = field(default_factory=dict)
    ignore_eos: bool = False
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    frequency_penalty: float | None = None
    presence_penalty: float | None = None
    repetition_penalty: float | None = None
    stop: list[str] = field(default_factory=list)
    stop_token_ids: list[int] = field(default_factory=list)
    n_choices: int | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = None
    connect_timeout: float = 10.0
    timeout: float = 600.0
    read_timeout: float | None = None
    test_connection: bool = True
    # run
    output_dir: str = "outputs/perf"
    name: str | None = None
    no_timestamp: bool = False
    seed: int = 42
    percentiles: list[float] = field(default_factory=lambda: [50, 90, 95, 99, 99.9])
    slo: str | None = None
    slo_refine: int = 2
    goodput: str | None = None
    no_progress: bool = False
    no_html: bool = False
    wandb_project: str | None = None
    swanlab_project: str | None = None

    # -- building ----------------------------------------------------------------------------------
    @classmethod
    def from_options(cls, o: dict[str, Any] | PerfConfig) -> PerfConfig:
        """A checked configuration from the CLI's option dict (unknown keys are refused)."""
        if isinstance(o, PerfConfig):  # built directly in Python: checked the same way
            o = {k: v for k, v in dataclasses.asdict(o).items() if v is not None}
            if o.get("warmup_ratio") is not None:
                o["warmup"] = o["warmup_ratio"]
            o.pop("warmup_ratio", None)
            if o.pop("concurrency_given", False) is False and o.get("concurrency") == [1]:
                o.pop("concurrency")
            o["no_test_connection"] = not o.pop("test_connection", True)
        o = dict(o)
        known = {f.name for f in dataclasses.fields(cls)} | _ALIASES.keys() | _DICT_ONLY
        unknown = sorted(k for k in o if k not in known)
        if unknown:
            from evs_core.errors import suggest

            raise ConfigError(f"unknown perf option '{unknown[0]}'{suggest(unknown[0], known)}")
        for alias, target in _ALIASES.items():
            v = o.pop(alias, None)
            if v is not None and v != () and o.get(target) in (None, (), [], cls._default(target)):
                o[target] = v
        url = o.get("url")
        if not url:
            raise ConfigError("--url is required (try `evs perf mock-server` for a local server)")
        c = cls(url=str(url))
        c.api = str(o.get("api") or "chat")
        c.model = o.get("model") or None
        c.api_key = o.get("api_key") or None
        c.headers = parse_headers(o.get("headers"))
        conc_raw = o.get("concurrency")
        c.concurrency_given = bool(o.get("concurrency_given")) or conc_raw not in (None, "1", 1, (), ["1"], [1], ("1",))
        c.concurrency = num_list(conc_raw if conc_raw not in (None, ()) else "1", "--concurrency") or [1]
        rate_parts = _parts(o.get("rate"))
        if rate_parts and all(x == "-1" for x in rate_parts):
            c.rate = []  # EvalScope's default --rate -1: no rate limit, i.e. closed loop at --parallel
        else:
            c.rate = num_list(o.get("rate"), "--rate", float, allow_inf=True, allow_zero=False)
        c.requests = num_list(o.get("requests"), "--requests", allow_zero=False)
        c.arrival = o.get("arrival") or "poisson"
        if c.arrival not in ("poisson", "constant"):
            raise ConfigError(f"--arrival must be poisson or constant, not {c.arrival!r}")
        c.open_loop = bool(o.get("open_loop"))
        c.duration = _positive(o.get("duration"), "--duration")
        w = o.get("warmup")
        if w is not None:
            wf = _positive(w, "--warmup", float, allow_zero=True)
            if 0 < wf < 1:  # EvalScope's --warmup-num ratio of --number
                c.warmup_ratio = wf
            else:
                if wf != int(wf):
                    raise ConfigError(f"--warmup must be a whole number or a ratio below 1, not {w}")
                c.warmup = int(wf)
        c.ramp_up = _positive(o.get("ramp_up") or 0.0, "--ramp-up", allow_zero=True)
        ws = o.get("workers")
        if ws is not None and str(ws) != "auto":
            try:
                c.workers = int(ws)
            except ValueError:
                raise ConfigError(f"--workers must be 'auto' or a number, not {ws!r}") from None
            if c.workers < 1:
                raise ConfigError("--workers must be at least 1")
        c.loop = o.get("loop") or "auto"
        c.ray_address = o.get("ray_address") or None
        rw = o.get("ray_workers")
        if rw is not None:
            try:
                c.ray_workers = int(rw)
            except (TypeError, ValueError):
                raise ConfigError(f"--ray-workers must be a number, not {rw!r}") from None
            if c.ray_workers < 1:
                raise ConfigError("--ray-workers must be at least 1")
        if c.ray_workers and c.workers:
            raise ConfigError("--ray-workers and --workers both split the load: give one of them")
        if c.loop not in ("auto", "asyncio", "uvloop"):
            raise ConfigError(f"--loop must be auto, asyncio or uvloop, not {c.loop!r}")
        c.sleep_interval = _positive(o.get("sleep_interval") or 0.0, "--sleep-interval", allow_zero=True)
        # data
        c.dataset = str(o.get("dataset") or "random")
        c.dataset_path = o.get("dataset_path") or None
        c.dataset_args = check_dataset_args(c.dataset, _json_object(o.get("dataset_args"), "--dataset-args"))
        source = (o.get("data_source") or "").lower()
        if source and source not in ("huggingface", "hf", "local"):
            raise ConfigError(f"--data-source {source!r}: evs perf loads hub datasets through Hugging Face "
                              "(huggingface) or reads --dataset-path (local); for ModelScope, download the file and "
                              "pass --dataset-path")
        if source == "local" and not c.dataset_path and c.dataset in ("longalpaca", "flickr8k", "kontext_bench"):
            raise ConfigError(f"--data-source local: --dataset {c.dataset} needs --dataset-path")
        c.tokenizer = o.get("tokenizer") or None
        if c.dataset.startswith("speed_benchmark") and o.get("input_tokens") not in (None, "128"):
            c.input_tokens = ",".join(str(x) for x in num_list(o.get("input_tokens"), "--input-tokens",
                                                                allow_zero=False))  # the grid of input lengths
        else:
            c.input_tokens = _range_text(o.get("input_tokens") or "128", "--input-tokens")
        c.max_tokens = _range_text(o.get("max_tokens") or "256", "--max-tokens")
        c.min_tokens = _positive(o.get("min_tokens"), "--min-tokens", int, allow_zero=True)
        c.prefix_tokens = _positive(o.get("prefix_tokens") or 0, "--prefix-tokens", int, allow_zero=True)
        c.min_prompt_length = _positive(o.get("min_prompt_length"), "--min-prompt-length", int, allow_zero=True)
        c.max_prompt_length = _positive(o.get("max_prompt_length"), "--max-prompt-length", int)
        if c.min_prompt_length and c.max_prompt_length and c.min_prompt_length > c.max_prompt_length:
            raise ConfigError("--min-prompt-length is above --max-prompt-length")
        c.image_count = _positive(o.get("image_count") if o.get("image_count") is not None else 1, "--image-count",
                                  int, allow_zero=True)
        c.image_size = _image_size(o)
        fmt = o.get("image_format")
        if fmt not in (None, "RGB"):
            raise ConfigError(f"--image-format {fmt!r}: evs perf generates RGB PNGs only")
        c.num_prompts = _positive(o.get("num_prompts"), "--num-prompts", int)
        c.embedding_batch = _positive(o.get("embedding_batch"), "--embedding-batch", int)
        c.prompt = read_text_arg(o.get("prompt"), "--prompt")
        c.query_template = read_text_arg(o.get("query_template"), "--query-template")
        c.apply_chat_template = o.get("apply_chat_template")
        c.multi_turn = bool(o.get("multi_turn"))
        c.min_turns = _positive(o.get("min_turns") or 1, "--min-turns", int)
        c.max_turns = _positive(o.get("max_turns"), "--max-turns", int)
        if c.max_turns is not None and c.max_turns < c.min_turns:
            raise ConfigError(f"--max-turns {c.max_turns} is below --min-turns {c.min_turns}")
        # request
        c.stream = bool(o.get("stream", True))
        c.extra_body = _json_object(o.get("extra_body"), "--extra-body")
        c.ignore_eos = bool(o.get("ignore_eos"))
        for k in ("temperature", "top_p", "frequency_penalty", "presence_penalty", "repetition_penalty"):
            v = o.get(k)
            if v is not None:
                try:
                    v = float(v)
                except (TypeError, ValueError):
                    raise ConfigError(f"--{k.replace('_', '-')}: {o.get(k)!r} is not a number") from None
                if math.isnan(v) or math.isinf(v):
                    raise ConfigError(f"--{k.replace('_', '-')}: {o.get(k)!r} is not a finite number")
            setattr(c, k, v)
        if c.temperature is not None and c.temperature < 0:
            raise ConfigError(f"--temperature must be at least 0, not {c.temperature}")
        c.top_k = o.get("top_k")
        c.stop = [str(s) for s in (o.get("stop") or ()) if str(s) != ""]
        ids = []
        for s in _parts(o.get("stop_token_ids")):
            try:
                ids.append(int(s))
            except ValueError:
                raise ConfigError(f"--stop-token-ids: '{s}' is not a token id") from None
        c.stop_token_ids = ids
        c.n_choices = _positive(o.get("n_choices"), "--n-choices", int)
        c.logprobs = o.get("logprobs") or None
        c.top_logprobs = _positive(o.get("top_logprobs"), "--top-logprobs", int, allow_zero=True)
        c.connect_timeout = _positive(_given(o, "connect_timeout", 10.0), "--connect-timeout")
        c.timeout = _positive(_given(o, "timeout", 600.0), "--timeout")
        c.read_timeout = _positive(o.get("read_timeout"), "--read-timeout")
        c.test_connection = not o.get("no_test_connection")
        # run
        c.output_dir = str(o.get("output_dir") or "outputs/perf")
        c.name = o.get("name") or None
        if c.name is not None and (c.name in (".", "..") or "/" in c.name or "\\" in c.name or len(c.name) > 200):
            raise ConfigError(f"--name must be a plain folder name (no '/', at most 200 characters), not {c.name!r}")
        c.no_timestamp = bool(o.get("no_timestamp"))
        c.seed = int(o.get("seed") if o.get("seed") is not None else 42)
        c.percentiles = sorted(set(num_list(o.get("percentiles") or "50,90,95,99,99.9", "--percentiles", float)))
        if any(p > 100 for p in c.percentiles):
            raise ConfigError("--percentiles must lie between 0 and 100")
        c.slo = o.get("slo") or None
        c.slo_refine = _positive(o.get("slo_refine") if o.get("slo_refine") is not None else 2, "--slo-refine",
                                 int, allow_zero=True)
        c.goodput = o.get("goodput") or None
        c.no_progress = bool(o.get("no_progress"))
        c.no_html = bool(o.get("no_html"))
        c.wandb_project = o.get("wandb_project") or None
        c.swanlab_project = o.get("swanlab_project") or None
        vis = o.get("visualizer")
        if vis:
            if vis not in ("wandb", "swanlab"):
                raise ConfigError(f"--visualizer must be wandb or swanlab, not {vis!r}")
            setattr(c, f"{vis}_project", getattr(c, f"{vis}_project") or c.name or "evs-perf")
        c._check_shape()
        return c

    @staticmethod
    def _default(name):
        for f in dataclasses.fields(PerfConfig):
            if f.name == name:
                return None if f.default is dataclasses.MISSING else f.default
        return None

    def _check_shape(self):
        if any(x == 0 for x in self.concurrency) and not self.rate:
            raise ConfigError("--concurrency must be at least 1 in closed loop (0 means 'no cap' only with --rate)")
        sweep = self.rate or self.concurrency
        if self.rate and len(self.concurrency) > 1 and len(self.concurrency) != len(self.rate):
            raise ConfigError("--rate and --concurrency lists must have the same length")
        if self.requests and len(self.requests) not in (1, len(sweep)):
            raise ConfigError(f"--requests has {len(self.requests)} values but the sweep has {len(sweep)} points")
        lo, hi = (int(x) for x in (self.max_tokens.split("-") if "-" in self.max_tokens else [self.max_tokens] * 2))
        if self.min_tokens is not None and self.min_tokens > hi:
            raise ConfigError(f"--min-tokens {self.min_tokens} is above --max-tokens {hi}")

    # -- derived -----------------------------------------------------------------------------------
    def public(self) -> dict[str, Any]:
        """The configuration as written to config.json: secrets masked."""
        from evs_perf.redact import redact_obj

        d = dataclasses.asdict(self)
        d["image_size"] = f"{self.image_size[0]}x{self.image_size[1]}"
        if d.get("api_key"):
            d["api_key"] = "***"
        return redact_obj(d, self.secrets())

    def secrets(self) -> list[str]:
        """Values that must never appear in anything evs perf writes or prints."""
        import base64

        from evs_perf.redact import secrets_of, strip_userinfo

        out = secrets_of(self.api_key, self.headers, self.url)
        _, userinfo = strip_userinfo(self.url)
        if userinfo is not None:
            out.append(base64.b64encode(f"{userinfo[0]}:{userinfo[1]}".encode()).decode())
        return sorted(set(out), key=len, reverse=True)


_ALIASES = {
    # EvalScope's names and older evs names -> the field
    "parallel": "concurrency", "number": "requests", "outputs_dir": "output_dir", "extra_args": "extra_body",
    "warmup_num": "warmup", "prefix_length": "prefix_tokens", "image_num": "image_count",
    "tokenizer_path": "tokenizer", "total_timeout": "timeout",
}
_DICT_ONLY = {"image_width", "image_height", "image_format", "no_test_connection", "visualizer", "data_source"}


def _given(o, key, default):
    v = o.get(key)
    return default if v is None else v


def _image_size(o) -> tuple[int, int]:
    w, h = o.get("image_width"), o.get("image_height")
    size = o.get("image_size") or "224x224"
    if isinstance(size, (tuple, list)):
        size = f"{size[0]}x{size[1]}"
    try:
        sw, sh = (int(x) for x in str(size).lower().split("x"))
    except ValueError:
        raise ConfigError(f"--image-size must be WIDTHxHEIGHT, not {size!r}") from None
    sw = int(w) if w is not None else sw
    sh = int(h) if h is not None else sh
    if sw < 1 or sh < 1 or sw * sh > 8192 * 8192:
        raise ConfigError(f"image size {sw}x{sh}: width and height must be 1..8192")
    return sw, sh


# -- one load point ----------------------------------------------------------------------------
@dataclass
class PointSpec:
    """What a worker needs to run (its share of) one load point. Bodies are serialised already.

    ``arrivals``: open-loop offsets in seconds from the start (None = closed loop);
    ``request_order``: for open loop, the payload index of each arrival (a trace replays its own
    rows in order); ``conversations``: multi-turn mode, each a list of per-turn
    :class:`~evs_perf.datasets.Turn`.
    """

    url: str
    api: Any
    stream: bool
    payloads: list[bytes]
    planned: list[tuple[int | None, int | None]]
    timeout: float = 600.0
    read_timeout: float | None = None
    connect_timeout: float = 10.0
    concurrency: int = 1
    requests: int | None = None
    duration: float | None = None
    ramp_up: float = 0.0
    rate: float | None = None
    arrivals: list[float] | None = None
    request_order: list[int] | None = None
    loop: str | None = None
    warmup: int = 0
    t0: float = 0.0
    conversations: list | None = None
    conv_ids: list[int] | None = None  # the run-wide number of each conversation (split over workers)
    conv_builder: Any = None  # builds a turn's request bytes from the history (multi-turn)
