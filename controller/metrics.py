"""Prometheus metrics of lbd: per-switch meters and the collector behind ``/metrics``.

:class:`SwitchMeter` counts what one switch agent does (packet-ins by reason, P4Runtime
Write RPCs with their latency and errors); :class:`MeasuredWrites` times the Write RPCs
sent through it.  :func:`exposition` turns an :class:`~controller.observe.Observer`
snapshot and the meters into the text format with prometheus_client.  Names follow the
Prometheus conventions (``_total`` counters, seconds, bytes); docs/observability.md lists
them.
"""

from __future__ import annotations

import bisect
import time
from collections import Counter
from collections.abc import Awaitable, Iterable, Iterator, Sequence
from typing import Any

from finsy import P4ClientError, Switch
from prometheus_client import CollectorRegistry, ProcessCollector
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
    Metric,
)
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

from controller.dataplane import (
    PACKET_IN_REASON_NEW_CONNECTION,
    PACKET_IN_REASON_SPLICE_CLIENT,
    PACKET_IN_REASON_SPLICE_SERVER,
)

PREFIX = "p4lb"
WRITE_BUCKETS_S = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
                   2.5, 5.0)
REASONS = {PACKET_IN_REASON_NEW_CONNECTION: "new_connection",
           PACKET_IN_REASON_SPLICE_CLIENT: "splice_client",
           PACKET_IN_REASON_SPLICE_SERVER: "splice_server"}
BACKEND_STATES = ("active", "draining", "retiring")
# splicer event -> its own metric (the rest go to p4lb_splicer_events_total{event})
SPLICER_METRICS = {
    "syn_cookies": ("splicer_syn_cookies_sent", "SYN-ACKs with a SYN cookie sent to clients"),
    "cookies_validated": ("splicer_syn_cookies_validated",
                          "client ACKs whose SYN cookie was valid"),
    "bad_cookies": ("splicer_syn_cookies_rejected", "client ACKs with an invalid SYN cookie"),
    "requests_parsed": ("splicer_requests_parsed", "HTTP request heads read completely"),
    "spliced": ("splicer_splices_installed", "connections spliced in the switch"),
    "splices_removed": ("splicer_splices_removed", "splices torn down by the splicer"),
}


class SwitchMeter:
    """Counters of one switch agent, in plain Python (read by snapshots and the collector)."""

    def __init__(self) -> None:
        self.packet_ins: Counter[str] = Counter()  # reason name -> packet-ins
        self.writes: Counter[str] = Counter()  # operation -> Write RPCs
        self.write_errors: Counter[tuple[str, str]] = Counter()  # (operation, gRPC code)
        self.write_buckets: dict[str, list[int]] = {}  # operation -> per-bucket counts, +Inf
        self.write_seconds: dict[str, float] = {}  # operation -> total seconds

    def packet_in(self, reason: Any) -> None:
        self.packet_ins[REASONS.get(reason, "other") if isinstance(reason, int)
                        else "other"] += 1

    def write(self, operation: str, seconds: float, error: str | None) -> None:
        self.writes[operation] += 1
        self.write_seconds[operation] = self.write_seconds.get(operation, 0.0) + seconds
        buckets = self.write_buckets.setdefault(operation, [0] * (len(WRITE_BUCKETS_S) + 1))
        buckets[bisect.bisect_left(WRITE_BUCKETS_S, seconds)] += 1
        if error is not None:
            self.write_errors[(operation, error)] += 1


class MeasuredWrites:
    """The insert/modify/delete Write RPCs of a finsy Switch, timed into a meter."""

    def __init__(self, switch: Switch, meter: SwitchMeter) -> None:
        self.switch = switch
        self.meter = meter

    async def insert(self, entities: Sequence[Any]) -> None:
        await self._measured("insert", self.switch.insert(entities), entities)

    async def modify(self, entities: Sequence[Any]) -> None:
        await self._measured("modify", self.switch.modify(entities), entities)

    async def delete(self, entities: Sequence[Any], *, strict: bool = True) -> None:
        await self._measured("delete", self.switch.delete(entities, strict=strict), entities)

    async def _measured(self, operation: str, write: Awaitable[None],
                        entities: Sequence[Any]) -> None:
        if not entities:  # finsy sends nothing
            await write
            return
        start = time.perf_counter()
        try:
            await write
        except P4ClientError as err:
            self.meter.write(operation, time.perf_counter() - start, err.code.name)
            raise
        self.meter.write(operation, time.perf_counter() - start, None)


class SnapshotCollector(Collector):
    """Metric families of one snapshot (controller/observe.py) and the switch meters."""

    def __init__(self, snapshot: dict[str, Any], meters: dict[str, SwitchMeter]) -> None:
        self.snapshot = snapshot
        self.meters = meters

    def collect(self) -> Iterator[Metric]:
        yield from self._services()
        yield from self._switches()

    def _services(self) -> Iterator[Metric]:
        svc, be = ["service"], ["service", "backend"]
        info = InfoMetricFamily(f"{PREFIX}_service", "virtual services",
                                labels=["service", "vip", "port", "protocol", "mode",
                                        "scheduler"])
        s_packets = _counter("service_packets", "packets to the service (switch counter)", svc)
        s_bytes = _counter("service_bytes", "bytes to the service (switch counter)", svc)
        b_packets = _counter("backend_packets", "packets to the backend (switch counter)", be)
        b_bytes = _counter("backend_bytes", "bytes to the backend (switch counter)", be)
        opened = _counter("backend_connections", "connections sent to the backend since "
                          "lbd started", be)
        active = _gauge("backend_active_connections", "connections the backend serves now",
                        be)
        weight = _gauge("backend_weight", "scheduling weight (0: draining)", be)
        state = _gauge("backend_state", "1 for the backend's state (active, draining, "
                       "retiring)", [*be, "state"])
        up = _gauge("backend_up", "health check: 1 healthy, 0 failing", be)
        for service in self.snapshot["services"]:
            name = service["name"]
            info.add_metric([name], {"service": name, "vip": service["vip"],
                                     "port": str(service["port"]),
                                     "protocol": service["protocol"],
                                     "mode": str(service.get("mode")),
                                     "scheduler": str(service.get("scheduler"))})
            s_packets.add_metric([name], service["packets"])
            s_bytes.add_metric([name], service["bytes"])
            for backend in service["backends"]:
                labels = [name, backend["name"]]
                b_packets.add_metric(labels, backend["packets"])
                b_bytes.add_metric(labels, backend["bytes"])
                opened.add_metric(labels, backend["connections_total"])
                active.add_metric(labels, backend["active"])
                weight.add_metric(labels, backend["weight"])
                for value in BACKEND_STATES:
                    state.add_metric([*labels, value], float(backend["state"] == value))
                if backend.get("health") in ("up", "down"):
                    up.add_metric(labels, float(backend["health"] == "up"))
        yield from (info, s_packets, s_bytes, b_packets, b_bytes, opened, active, weight, state)
        if up.samples:
            yield up

    def _switches(self) -> Iterator[Metric]:
        sw = ["switch"]
        connected = _gauge("switch_connected", "1 while the P4Runtime channel is up", sw)
        synced = _gauge("switch_synchronised", "1 while the switch holds the desired state",
                        sw)
        packet_ins = _counter("packet_ins", "packet-ins received, by reason", [*sw, "reason"])
        splicer = {key: _counter(name, text, sw) for key, (name, text)
                   in SPLICER_METRICS.items()}
        parse_errors = _counter("splicer_parse_errors", "requests answered with an HTTP "
                                "error, by status", [*sw, "status"])
        events = _counter("splicer_events", "other splicer events", [*sw, "event"])
        writes = HistogramMetricFamily(f"{PREFIX}_p4runtime_write_duration_seconds",
                                       "P4Runtime Write RPC latency",
                                       labels=[*sw, "operation"])
        errors = _counter("p4runtime_write_errors", "failed P4Runtime Write RPCs, by gRPC "
                          "status", [*sw, "operation", "code"])
        for switch in self.snapshot["switches"]:
            name = switch["name"]
            connected.add_metric([name], float(switch["connected"]))
            synced.add_metric([name], float(switch["synchronised"]))
            counts = switch["splicer"]
            for key, family in splicer.items():
                family.add_metric([name], counts.get(key, 0))
            for key, count in sorted(counts.items()):
                if key.startswith("http_"):
                    parse_errors.add_metric([name, key.removeprefix("http_")], count)
                elif key not in SPLICER_METRICS:
                    events.add_metric([name, key], count)
            meter = self.meters.get(name)
            if meter is None:
                continue
            for reason in (*REASONS.values(), "other"):
                packet_ins.add_metric([name, reason], meter.packet_ins.get(reason, 0))
            for operation, counts_ in sorted(meter.write_buckets.items()):
                writes.add_metric([name, operation], _cumulative(counts_),
                                  meter.write_seconds[operation])
            for (operation, code), count in sorted(meter.write_errors.items()):
                errors.add_metric([name, operation, code], count)
        yield from (connected, synced, packet_ins, *splicer.values(), parse_errors, events,
                    writes, errors)


def exposition(snapshot: dict[str, Any], meters: dict[str, SwitchMeter],
               accept: str | None) -> tuple[bytes, str]:
    """(body, content type) of ``/metrics`` in the format the scraper accepts."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SnapshotCollector(snapshot, meters))
    ProcessCollector(registry=registry)  # process_cpu_seconds_total, memory, open fds
    encoder, content_type = choose_encoder(accept or "")
    return encoder(registry), content_type


def _counter(name: str, text: str, labels: list[str]) -> CounterMetricFamily:
    return CounterMetricFamily(f"{PREFIX}_{name}", text, labels=labels)


def _gauge(name: str, text: str, labels: list[str]) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"{PREFIX}_{name}", text, labels=labels)


def _cumulative(counts: Iterable[int]) -> list[tuple[str, float]]:
    out, total = [], 0
    bounds = [*(repr(b) for b in WRITE_BUCKETS_S), "+Inf"]
    for bound, count in zip(bounds, counts, strict=True):
        total += count
        out.append((bound, float(total)))
    return out
