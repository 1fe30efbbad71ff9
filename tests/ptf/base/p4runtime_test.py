"""Base class for PTF tests of a P4Runtime switch.

The launcher passes the switch under test in PTF test parameters::

    grpcaddr='127.0.0.1:9559';device_id=0;p4info='prog.p4info.txt';config='prog.json';cpu_port=0

``setUp`` connects as primary controller, pushes the pipeline (so every test starts from an empty
program state) and exposes ``self.p4rt`` (a P4RuntimeClient) and ``self.dataplane`` (PTF's).
``tearDown`` removes the table entries the test left.
"""

from __future__ import annotations

from pathlib import Path

import ptf
import ptf.testutils as testutils
from finsy.proto import p4i
from google.protobuf import text_format
from ptf.base_tests import BaseTest

from base.p4runtime_client import P4RuntimeClient


def load_p4info(path: str | Path) -> p4i.P4Info:
    """P4Info from a p4c-style file: binary ``.bin``, JSON ``.json``, text format otherwise."""
    path = Path(path)
    p4info = p4i.P4Info()
    if path.suffix == ".bin":
        p4info.ParseFromString(path.read_bytes())
    elif path.suffix == ".json":
        from google.protobuf import json_format

        json_format.Parse(path.read_text(), p4info)
    else:
        text_format.Parse(path.read_text(), p4info)
    return p4info


class P4RuntimeTest(BaseTest):  # type: ignore[misc]  # ptf ships no type information
    """Subclasses write ``runTest`` (or ``test_*`` methods) using ``self.p4rt``."""

    p4rt: P4RuntimeClient

    def setUp(self) -> None:
        super().setUp()
        self.dataplane = ptf.dataplane_instance
        self.dataplane.flush()
        grpc_addr = testutils.test_param_get("grpcaddr", "127.0.0.1:9559")
        self.device_id = int(testutils.test_param_get("device_id", 0))
        cpu_port = testutils.test_param_get("cpu_port")
        self.cpu_port = int(cpu_port) if cpu_port is not None else None
        p4info_path = testutils.test_param_get("p4info")
        config_path = testutils.test_param_get("config")
        if p4info_path is None or config_path is None:
            raise RuntimeError("test params p4info and config are required (tests/ptf/README.md)")
        self.p4info = load_p4info(p4info_path)
        self.p4rt = P4RuntimeClient(grpc_addr, device_id=self.device_id)
        self.p4rt.set_pipeline(self.p4info, Path(config_path).read_bytes())

    def tearDown(self) -> None:
        try:
            self.p4rt.clear_tables()
        finally:
            self.p4rt.close()
            super().tearDown()
