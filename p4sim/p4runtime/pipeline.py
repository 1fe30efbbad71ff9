"""A forwarding pipeline as P4Runtime sees it: P4Info + BMv2 JSON + cookie, and its state.

Building one verifies the config: the JSON must load in the engine and every P4Info object must
name its BMv2 JSON counterpart (the same fully qualified names p4c writes to both files).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass

from finsy.proto import p4r

from p4sim.engine import ConfigError, Engine, EngineError
from p4sim.p4runtime.action_profiles import ActionProfiles
from p4sim.p4runtime.digests import DigestManager
from p4sim.p4runtime.errors import invalid_argument
from p4sim.p4runtime.externs import Externs
from p4sim.p4runtime.p4info_index import P4InfoIndex
from p4sim.p4runtime.pre import PacketReplication
from p4sim.p4runtime.tables import Tables


@dataclass(slots=True)
class Pipeline:
    config: p4r.ForwardingPipelineConfig
    engine: Engine
    index: P4InfoIndex
    tables: Tables
    profiles: ActionProfiles
    externs: Externs
    replication: PacketReplication
    digests: DigestManager

    @classmethod
    def build(
        cls, config: p4r.ForwardingPipelineConfig, *, cpu_port: int | None,
        clock_ns: Callable[[], int] = time.monotonic_ns,
    ) -> Pipeline:
        """Verify ``config`` and instantiate it; INVALID_ARGUMENT when it is not usable."""
        if not config.HasField("p4info"):
            raise invalid_argument("ForwardingPipelineConfig has no p4info")
        if not config.p4_device_config:
            raise invalid_argument("ForwardingPipelineConfig has no p4_device_config (BMv2 JSON)")
        try:
            program = json.loads(config.p4_device_config)
        except (UnicodeDecodeError, ValueError) as err:
            raise invalid_argument(f"p4_device_config is not BMv2 JSON: {err}") from err
        try:
            engine = Engine(program, cpu_port=cpu_port, clock_ns=clock_ns)
        except (ConfigError, EngineError) as err:
            raise invalid_argument(f"Invalid BMv2 JSON: {err}") from err
        except (KeyError, TypeError, ValueError, IndexError) as err:
            raise invalid_argument(f"Invalid BMv2 JSON: {type(err).__name__}: {err}") from err
        index = P4InfoIndex.build(config.p4info)
        _check_consistency(index, engine)
        profiles = ActionProfiles(engine, index)
        tables = Tables(engine, index, profiles)
        return cls(
            config=config, engine=engine, index=index, tables=tables, profiles=profiles,
            externs=Externs(engine, index, tables), replication=PacketReplication(engine),
            digests=DigestManager(index, engine.info.learn_lists, clock_ns))


def _check_consistency(index: P4InfoIndex, engine: Engine) -> None:
    info = engine.info
    for table in index.tables.values():
        engine_table = info.tables.get(table.name)
        if engine_table is None:
            raise invalid_argument(f"P4Info table '{table.name}' is not in the BMv2 JSON")
        if len(engine_table.key) != len(table.match_fields):
            raise invalid_argument(
                f"Table '{table.name}' has {len(table.match_fields)} match fields in P4Info "
                f"but {len(engine_table.key)} in the BMv2 JSON")
    for action in index.actions.values():
        engine_action = info.actions.get(action.name)
        if engine_action is None:
            raise invalid_argument(f"P4Info action '{action.name}' is not in the BMv2 JSON")
        if len(engine_action.params) != len(action.params):
            raise invalid_argument(f"Action '{action.name}' has different parameters in "
                                   "P4Info and BMv2 JSON")
    named: list[tuple[list[str], Collection[str], str]] = [
        ([s.name for s in index.action_profiles.values()], info.action_profiles,
         "action profile"),
        ([s.name for s in index.counters.values()], info.counters, "counter"),
        ([s.name for s in index.meters.values()], info.meters, "meter"),
        ([s.name for s in index.registers.values()], info.registers, "register"),
    ]
    for names, objects, kind in named:
        for name in names:
            if name not in objects:
                raise invalid_argument(f"P4Info {kind} '{name}' is not in the BMv2 JSON")
