"""One flush's worth of tracking data, mergeable with any other (so readers add flushes together).

Per function: counts by status class, cold starts and init time, timeouts, duration sum/max, peak
memory, a latency ``Sketch`` and the slowest requests (exemplars, with trace ids). Errors are grouped by
fingerprint (name + normalised message + top frame, as Sentry groups) with count, first/last seen and
one sample; logs keep a count per level and the last few lines. Serialised as compact JSON.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from shared.tracking.sketch import Sketch

EXEMPLARS = 5  # slowest requests kept per function
RECENT_LOGS = 20  # lines kept per level
SEVERITIES = ("low", "medium", "high", "critical")
_SAMPLE_MESSAGE = 1000
_SAMPLE_STACK = 4000

_VOLATILE = re.compile(
    r"0x[0-9a-f]+|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|\b[0-9a-f]{16,}\b|\d+(\.\d+)?"
    r"|'[^']*'|\"[^\"]*\"", re.I)
_FRAME = re.compile(r'File "([^"]+)", line \d+, in (\S+)|at (\S+) \(([^)]+?)(:\d+)*\)')


def normalise(message: str) -> str:
    """The message with its volatile parts (numbers, ids, quoted values) replaced, for grouping."""
    return _VOLATILE.sub("?", message)[:300]


def top_frame(stack: str | None) -> str:
    """The innermost frame of a Python or JavaScript stack, without line numbers, outside site-packages
    or node_modules when one exists (the user's own code is what groups an error)."""
    frames = [m.group(0) for m in _FRAME.finditer(stack or "")]
    own = [f for f in frames if "site-packages" not in f and "node_modules" not in f]
    chosen = (own or frames or [""])[-1] if stack and "Traceback" in stack else (own or frames or [""])[0]
    return re.sub(r", line \d+|:\d+", "", chosen)


def fingerprint(name: str, message: str, stack: str | None) -> str:
    key = "\n".join((name, normalise(message), top_frame(stack)))
    return hashlib.sha256(key.encode()).hexdigest()[:16]


@dataclass
class FunctionStats:
    """What the requests of one function did during the span of an aggregate."""

    source: str = "app"  # "self": tierwatch's own functions (what the monitor costs)
    count: int = 0
    status: dict[str, int] = field(default_factory=dict)  # "2xx" -> n
    errors: int = 0
    cold_starts: int = 0
    init_ms_sum: float = 0.0
    init_count: int = 0
    timeouts: int = 0
    duration_sum: float = 0.0
    duration_max: float = 0.0
    memory_max_mb: float = 0.0
    latency: Sketch = field(default_factory=Sketch)
    slowest: list[dict[str, Any]] = field(default_factory=list)

    def add(self, *, duration_ms: float, status: int, cold_start: bool = False, init_ms: float | None = None,
            timed_out: bool = False, memory_mb: float | None = None, trace_id: str | None = None,
            at: float = 0.0, error: bool = False) -> None:
        self.count += 1
        klass = f"{status // 100}xx"
        self.status[klass] = self.status.get(klass, 0) + 1
        self.errors += int(error or status >= 500 or timed_out)
        self.cold_starts += int(cold_start)
        if init_ms is not None:
            self.init_ms_sum += init_ms
            self.init_count += 1
        self.timeouts += int(timed_out)
        self.duration_sum += duration_ms
        self.duration_max = max(self.duration_max, duration_ms)
        if memory_mb is not None:
            self.memory_max_mb = max(self.memory_max_mb, memory_mb)
        self.latency.add(duration_ms)
        self._keep_slowest([{"duration_ms": round(duration_ms, 3), "status": status, "at": at,
                             **({"trace_id": trace_id} if trace_id else {})}])

    def _keep_slowest(self, candidates: list[dict[str, Any]]) -> None:
        if not candidates:
            return
        merged = self.slowest + candidates
        merged.sort(key=lambda e: e["duration_ms"], reverse=True)
        self.slowest = merged[:EXEMPLARS]

    def merge(self, other: FunctionStats) -> None:
        if other.source == "self":
            self.source = "self"
        self.count += other.count
        for klass, n in other.status.items():
            self.status[klass] = self.status.get(klass, 0) + n
        self.errors += other.errors
        self.cold_starts += other.cold_starts
        self.init_ms_sum += other.init_ms_sum
        self.init_count += other.init_count
        self.timeouts += other.timeouts
        self.duration_sum += other.duration_sum
        self.duration_max = max(self.duration_max, other.duration_max)
        self.memory_max_mb = max(self.memory_max_mb, other.memory_max_mb)
        self.latency.merge(other.latency)
        self._keep_slowest(other.slowest)

    def to_json(self) -> dict[str, Any]:
        return {"src": self.source, "n": self.count, "st": self.status, "e": self.errors, "cs": self.cold_starts,
                "is": round(self.init_ms_sum, 3), "in": self.init_count, "to": self.timeouts,
                "ds": round(self.duration_sum, 3), "dm": round(self.duration_max, 3),
                "mm": round(self.memory_max_mb, 1), "h": self.latency.to_json(), "x": self.slowest}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> FunctionStats:
        return cls(source=d.get("src", "app"), count=d["n"], status=dict(d["st"]), errors=d["e"],
                   cold_starts=d["cs"], init_ms_sum=d["is"], init_count=d["in"], timeouts=d["to"],
                   duration_sum=d["ds"], duration_max=d["dm"], memory_max_mb=d["mm"],
                   latency=Sketch.from_json(d["h"]), slowest=list(d["x"]))


@dataclass
class ErrorGroup:
    name: str
    message: str
    function: str
    severity: str
    count: int
    first: float
    last: float
    stack: str | None

    def merge(self, other: ErrorGroup) -> None:
        self.count += other.count
        if other.first < self.first:
            self.first = other.first
        if other.last >= self.last:
            self.last, self.message, self.stack, self.function = other.last, other.message, other.stack, other.function
        if SEVERITIES.index(other.severity) > SEVERITIES.index(self.severity):
            self.severity = other.severity

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "msg": self.message, "fn": self.function, "sev": self.severity, "n": self.count,
                "first": self.first, "last": self.last, "stack": self.stack}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ErrorGroup:
        return cls(name=d["name"], message=d["msg"], function=d["fn"], severity=d["sev"], count=d["n"],
                   first=d["first"], last=d["last"], stack=d.get("stack"))


def series_key(name: str, tags: dict[str, str]) -> str:
    return name + "{" + ",".join(f"{k}={v}" for k, v in sorted(tags.items())) + "}"


@dataclass
class MetricSeries:
    """A custom metric: counters add, gauges keep the latest value, histograms keep a sketch."""

    name: str
    kind: str  # counter | gauge | histogram
    tags: dict[str, str]
    total: float = 0.0  # counter: the sum; gauge: the latest value
    at: float = 0.0  # gauge: when the latest value was seen
    count: int = 0
    sketch: Sketch = field(default_factory=Sketch)

    def add(self, value: float, at: float) -> None:
        self.count += 1
        if self.kind == "counter":
            self.total += value
        elif self.kind == "gauge":
            if at >= self.at:
                self.total, self.at = value, at
        else:
            self.sketch.add(value)
            self.total += value

    def merge(self, other: MetricSeries) -> None:
        self.count += other.count
        if self.kind == "gauge":
            if other.at >= self.at:
                self.total, self.at = other.total, other.at
        else:
            self.total += other.total
            self.sketch.merge(other.sketch)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "tags": self.tags, "v": self.total, "at": self.at,
                "n": self.count, "h": self.sketch.to_json()}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> MetricSeries:
        return cls(name=d["name"], kind=d["kind"], tags=dict(d["tags"]), total=d["v"], at=d["at"], count=d["n"],
                   sketch=Sketch.from_json(d["h"]))


@dataclass
class Aggregate:
    """Everything tracked between two flushes (or, merged, in a reader's window)."""

    start: float = 0.0  # epoch seconds of the earliest event
    end: float = 0.0  # ... and of the latest
    events: int = 0
    functions: dict[str, FunctionStats] = field(default_factory=dict)
    errors: dict[str, ErrorGroup] = field(default_factory=dict)
    log_counts: dict[str, int] = field(default_factory=dict)
    recent_logs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    metrics: dict[str, MetricSeries] = field(default_factory=dict)  # "name{k=v,...}" -> series

    def _saw(self, at: float) -> None:
        self.start = at if not self.events or at < self.start else self.start
        self.end = max(self.end, at)
        self.events += 1

    def add_request(self, function: str, *, at: float, source: str = "app", **values: Any) -> None:
        self._saw(at)
        stats = self.functions.get(function)
        if stats is None:
            stats = self.functions[function] = FunctionStats(source=source)
        stats.add(at=at, **values)

    def add_error(self, function: str, name: str, message: str, *, at: float, severity: str = "medium",
                  stack: str | None = None) -> None:
        self._saw(at)
        group = ErrorGroup(name=name[:200], message=message[:_SAMPLE_MESSAGE], function=function,
                           severity=severity, count=1, first=at, last=at,
                           stack=stack[:_SAMPLE_STACK] if stack else None)
        key = fingerprint(name, message, stack)
        if key in self.errors:
            self.errors[key].merge(group)
        else:
            self.errors[key] = group

    def add_log(self, level: str, message: str, *, at: float, function: str | None = None) -> None:
        self._saw(at)
        self.log_counts[level] = self.log_counts.get(level, 0) + 1
        lines = self.recent_logs.setdefault(level, [])
        lines.append({"at": at, "msg": message[:_SAMPLE_MESSAGE], **({"fn": function} if function else {})})
        del lines[:-RECENT_LOGS]

    def add_metric(self, name: str, kind: str, value: float, *, at: float, tags: dict[str, str] | None = None) -> None:
        self._saw(at)
        key = series_key(name, tags or {})
        series = self.metrics.get(key)
        if series is None:
            series = self.metrics[key] = MetricSeries(name=name, kind=kind, tags=dict(tags or {}))
        series.add(value, at)

    def merge(self, other: Aggregate) -> None:
        for key, series in other.metrics.items():
            if key in self.metrics and self.metrics[key].kind == series.kind:
                self.metrics[key].merge(series)
            elif key not in self.metrics:
                self.metrics[key] = MetricSeries.from_json(series.to_json())
        if other.events:
            self.start = other.start if not self.events or other.start < self.start else self.start
            self.end = max(self.end, other.end)
            self.events += other.events
        for name, stats in other.functions.items():
            if name in self.functions:
                self.functions[name].merge(stats)
            else:
                self.functions[name] = FunctionStats.from_json(stats.to_json())
        for key, group in other.errors.items():
            if key in self.errors:
                self.errors[key].merge(group)
            else:
                self.errors[key] = ErrorGroup.from_json(group.to_json())
        for level, n in other.log_counts.items():
            self.log_counts[level] = self.log_counts.get(level, 0) + n
        for level, lines in other.recent_logs.items():
            merged = sorted(self.recent_logs.get(level, []) + lines, key=lambda line: line["at"])
            self.recent_logs[level] = merged[-RECENT_LOGS:]

    def to_json(self) -> str:
        return json.dumps({"v": 1, "t0": self.start, "t1": self.end, "n": self.events,
                           "fn": {k: v.to_json() for k, v in self.functions.items()},
                           "err": {k: v.to_json() for k, v in self.errors.items()},
                           "lc": self.log_counts, "lr": self.recent_logs,
                           "m": {k: v.to_json() for k, v in self.metrics.items()}}, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes) -> Aggregate:
        d = json.loads(text)
        return cls(start=d["t0"], end=d["t1"], events=d["n"],
                   functions={k: FunctionStats.from_json(v) for k, v in d["fn"].items()},
                   errors={k: ErrorGroup.from_json(v) for k, v in d["err"].items()},
                   log_counts=dict(d["lc"]), recent_logs={k: list(v) for k, v in d["lr"].items()},
                   metrics={k: MetricSeries.from_json(v) for k, v in d.get("m", {}).items()})
