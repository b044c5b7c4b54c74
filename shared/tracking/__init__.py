"""Request tracking: what happened in the functions, aggregated in the instance, flushed in one call.

- ``sketch``: mergeable log-bucketed latency histograms (DDSketch-style, <= 1% relative error).
- ``aggregate``: one flush's worth of stats per function, errors by fingerprint, capped logs; mergeable.
- ``store``: the Upstash keys; one HSET per flush, readers merge the hour hashes of their window.
- ``buffer``: the warm instance's buffer and when it flushes (interval, size, end of an idle gap).
"""
