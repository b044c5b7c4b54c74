"""The window's figures as Prometheus text (prometheus-client), a fresh registry per scrape.

The figures cover the requested window (``?window=5m`` suits a scrape interval of a minute or more), so
they are gauges, not counters: Prometheus should graph them, not ``rate()`` them. Latency becomes a real
histogram whose buckets are read off the sketch at fixed boundaries (each within the sketch's 1%).
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from functions.metrics.instance import Instance
from shared.tracking.aggregate import Aggregate
from shared.tracking.sketch import Sketch, bucket_value

BOUNDS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
_NAME_OK = str.maketrans({c: "_" for c in "-./ :[]@{}"})


def _buckets(sketch: Sketch) -> list[tuple[str, float]]:
    """Cumulative counts at each bound (sketch values are ms), ending with +Inf."""
    ordered = sorted(sketch.buckets.items())
    out: list[tuple[str, float]] = []
    for bound in BOUNDS_S:
        out.append((str(bound), float(sum(c for i, c in ordered if bucket_value(i) <= bound * 1000))))
    out.append(("+Inf", float(sketch.count)))
    return out


class _WindowCollector(Collector):
    def __init__(self, agg: Aggregate, window: str, inst: Instance) -> None:
        self.agg, self.window, self.inst = agg, window, inst

    def collect(self) -> Iterator[Metric]:
        labels = ["function", "source", "window"]
        requests = GaugeMetricFamily("tierwatch_window_requests", "Requests tracked in the window",
                                     labels=[*labels, "status_class"])
        errors = GaugeMetricFamily("tierwatch_window_errors", "Failed requests (5xx or timed out)", labels=labels)
        cold = GaugeMetricFamily("tierwatch_window_cold_starts", "Cold starts in the window", labels=labels)
        timeouts = GaugeMetricFamily("tierwatch_window_timeouts", "Timed-out requests in the window", labels=labels)
        memory = GaugeMetricFamily("tierwatch_window_peak_memory_bytes", "Peak memory seen", labels=labels)
        latency = HistogramMetricFamily("tierwatch_request_duration_seconds", "Request duration in the window",
                                        labels=labels)
        for name, s in sorted(self.agg.functions.items()):
            values = [name, s.source, self.window]
            for klass, n in sorted(s.status.items()):
                requests.add_metric([*values, klass], n)
            errors.add_metric(values, s.errors)
            cold.add_metric(values, s.cold_starts)
            timeouts.add_metric(values, s.timeouts)
            memory.add_metric(values, s.memory_max_mb * 2**20)
            latency.add_metric(values, _buckets(s.latency), sum_value=s.duration_sum / 1000)
        yield from (requests, errors, cold, timeouts, memory, latency)
        for series in self.agg.metrics.values():
            metric = "app_" + series.name.translate(_NAME_OK)
            keys = sorted(series.tags)
            values = [series.tags[k] for k in keys]
            if series.kind == "histogram":
                histogram = HistogramMetricFamily(metric, f"{series.name} (histogram, window {self.window})",
                                                  labels=keys)
                histogram.add_metric(values, _buckets(series.sketch), sum_value=series.total)
                yield histogram
            else:
                gauge = GaugeMetricFamily(metric, f"{series.name} ({series.kind}, window {self.window})", labels=keys)
                gauge.add_metric(values, series.total)
                yield gauge
        inst = self.inst
        for metric, help_text, value in (
            ("tierwatch_instance_cpu_seconds", "CPU time of this instance (user + system)",
             inst.cpu_user_s + inst.cpu_system_s),
            ("tierwatch_instance_peak_memory_bytes", "Peak resident memory of this instance", inst.peak_rss_mb * 2**20),
            ("tierwatch_instance_uptime_seconds", "Seconds since this instance started", inst.uptime_s),
        ):
            yield GaugeMetricFamily(metric, help_text, value=value)


def exposition(agg: Aggregate, window: str, inst: Instance) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_WindowCollector(agg, window, inst))
    return generate_latest(registry)
