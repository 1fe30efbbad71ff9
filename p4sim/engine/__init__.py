"""p4sim.engine: a software switch core executing BMv2 JSON with simple_switch (v1model) semantics.

The JSON is translated once, at load time, into specialised Python functions (parser states,
actions, conditionals, table keys, calculations, the deparser); per packet only those functions
run, over a flat list of integer field slots.  Module map:

- ``layout``: header instances, stacks and unions laid out as slots of the field vector;
- ``codegen``: JSON expressions and primitives to Python source;
- ``parsergen``: parser states, calculations (hashes, checksums) and the deparser;
- ``tables``/``action_profiles``/``externs``/``pre``: runtime state the control plane edits;
- ``loader``: the whole JSON document to a ``Program``;
- ``engine``: :class:`Engine`, the v1model packet flow and the control-plane API.

    engine = Engine(json_text)
    engine.table_add("MyIngress.ipv4_lpm", [Lpm(0x0A000000, 8)],
                     ActionCall("MyIngress.ipv4_forward", (0x0A0B0C0D0E0F, 2)))
    result = engine.process(1, frame)      # result.packets == [(2, b"...")]
"""

from p4sim.engine.engine import BatchOutput, Engine
from p4sim.engine.errors import (
    AlreadyExistsError,
    ConfigError,
    EngineError,
    InvalidEntryError,
    NotFoundError,
)
from p4sim.engine.types import (
    DEFAULT_ENTRY,
    ActionCall,
    ActionInfo,
    ActionParamInfo,
    ActionProfileInfo,
    ActionRef,
    CloneSession,
    CounterInfo,
    DigestSample,
    EntryView,
    Exact,
    GroupRef,
    HeaderTypeInfo,
    KeyFieldInfo,
    LearnListInfo,
    Lpm,
    MatchParam,
    MemberRef,
    MeterInfo,
    Optional,
    ProcessResult,
    ProgramInfo,
    Range,
    RegisterInfo,
    SplitFrame,
    TableInfo,
    Ternary,
)

__all__ = [
    "DEFAULT_ENTRY",
    "ActionCall",
    "ActionInfo",
    "ActionParamInfo",
    "ActionProfileInfo",
    "ActionRef",
    "AlreadyExistsError",
    "BatchOutput",
    "CloneSession",
    "ConfigError",
    "CounterInfo",
    "DigestSample",
    "Engine",
    "EngineError",
    "EntryView",
    "Exact",
    "GroupRef",
    "HeaderTypeInfo",
    "InvalidEntryError",
    "KeyFieldInfo",
    "LearnListInfo",
    "Lpm",
    "MatchParam",
    "MemberRef",
    "MeterInfo",
    "NotFoundError",
    "Optional",
    "ProcessResult",
    "ProgramInfo",
    "Range",
    "RegisterInfo",
    "SplitFrame",
    "TableInfo",
    "Ternary",
]
