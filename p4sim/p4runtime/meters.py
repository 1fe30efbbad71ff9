"""P4Runtime MeterConfig <-> engine rates ([(cir, cburst), (pir, pburst)] in units per second)."""

from __future__ import annotations

from collections.abc import Sequence

from finsy.proto import p4r

from p4sim.p4runtime.errors import invalid_argument


def decode_meter_config(config: p4r.MeterConfig) -> list[tuple[float, int]]:
    if min(config.cir, config.cburst, config.pir, config.pburst) < 0:
        raise invalid_argument("Meter rates and burst sizes must not be negative")
    if config.pir < config.cir:
        raise invalid_argument("Meter PIR must be greater than or equal to CIR")
    return [(float(config.cir), config.cburst), (float(config.pir), config.pburst)]


def encode_meter_config(rates: Sequence[tuple[float, int]]) -> p4r.MeterConfig:
    config = p4r.MeterConfig()
    if len(rates) >= 1:
        config.cir = round(rates[0][0])
        config.cburst = rates[0][1]
    if len(rates) >= 2:
        config.pir = round(rates[1][0])
        config.pburst = rates[1][1]
    return config
