"""The hand-written fixture program (fixtures/mini.*): its P4Info ids and pipeline config."""

from __future__ import annotations

from pathlib import Path

from finsy.proto import p4i, p4r
from google.protobuf import text_format

FIXTURES = Path(__file__).parent / "fixtures"
CPU_PORT = 64

T_MAC_LEARN = 33554433
T_IPV4_LPM = 33554434
T_ECMP = 33554435
T_ACL = 33554436
A_NOACTION = 16777217
A_DROP = 16777218
A_SET_NHOP = 16777219
A_SEND_TO_CPU = 16777220
A_LEARN = 16777221
AP_ECMP = 285212673
C_PORT = 301989889
DC_ACL = 318767105
M_PORT = 335544321
R_REG = 369098753
D_LEARN = 385875969


def mini_p4info() -> p4i.P4Info:
    text = (FIXTURES / "mini.p4info.txtpb").read_text()
    return text_format.Parse(text, p4i.P4Info())


def mini_config(cookie: int = 1) -> p4r.ForwardingPipelineConfig:
    config = p4r.ForwardingPipelineConfig(
        p4info=mini_p4info(), p4_device_config=(FIXTURES / "mini.json").read_bytes())
    config.cookie.cookie = cookie
    return config
