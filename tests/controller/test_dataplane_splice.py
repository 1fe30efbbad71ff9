"""Splice entries as docs/dataplane.md specifies them (its worked example, 2^32 wrap)."""

from ipaddress import IPv4Address

from controller.dataplane import entry, splice_entries, splice_specs
from controller.l7.segments import Endpoint
from controller.l7.seqmap import Splice, WindowScaling
from controller.l7.splicer import SpliceSpec

IDLE_NS = 300 * 10**9


def example_spec() -> SpliceSpec:
    splice = Splice.from_handshakes(client_isn=0x7A000000, cookie_isn=0xFFFFF000,
                                    server_isn=0x00001000, ts_offset=1000,
                                    windows=WindowScaling.negotiate(7, 7, 9))
    return SpliceSpec(client=Endpoint(IPv4Address("10.0.1.10"), 40000),
                      vip=Endpoint(IPv4Address("10.0.0.100"), 80),
                      local=Endpoint(IPv4Address("10.0.2.1"), 50000),
                      backend=Endpoint(IPv4Address("10.0.2.11"), 8080), splice=splice)


def ip(text: str) -> int:
    return int(IPv4Address(text))


def test_worked_example_of_the_contract() -> None:
    to_server, to_client = splice_entries(example_spec(), 5, 1, IDLE_NS)
    assert to_server == entry(
        "splice_to_server_table", {"client_addr": ip("10.0.1.10"), "client_port": 40000,
                                   "vip": ip("10.0.0.100"), "vip_port": 80},
        "splice_connection", IDLE_NS, src_addr=ip("10.0.2.1"), src_port=50000,
        dst_addr=ip("10.0.2.11"), dst_port=8080, seq_delta=0, ack_delta=0x00002000,
        tsval_delta=0, tsecr_delta=0xFFFFFC18, window_shift_left=0, window_shift_right=0,
        service_id=5, backend_id=1)
    assert to_client == entry(
        "splice_to_client_table", {"backend_addr": ip("10.0.2.11"), "backend_port": 8080,
                                   "splice_addr": ip("10.0.2.1"), "splice_port": 50000},
        "splice_connection", IDLE_NS, src_addr=ip("10.0.0.100"), src_port=80,
        dst_addr=ip("10.0.1.10"), dst_port=40000, seq_delta=0xFFFFE000, ack_delta=0,
        tsval_delta=0x000003E8, tsecr_delta=0, window_shift_left=2, window_shift_right=0,
        service_id=5, backend_id=1)


def test_basic_profile_installs_no_option_translation() -> None:
    spec = example_spec()
    basic = SpliceSpec(spec.client, spec.vip, spec.local, spec.backend,
                       Splice.from_handshakes(client_isn=1, cookie_isn=2, server_isn=3))
    for found in splice_entries(basic, 1, 1, 0):
        params = dict(found.params)
        assert (params["tsval_delta"], params["tsecr_delta"], params["window_shift_left"],
                params["window_shift_right"]) == (0, 0, 0, 0)
        assert found.idle_timeout_ns == 0


def test_entries_read_back_give_the_splice_and_unpaired_halves() -> None:
    spec = example_spec()
    to_server, to_client = splice_entries(spec, 5, 1, IDLE_NS)
    other = SpliceSpec(Endpoint(IPv4Address("10.0.1.11"), 1), spec.vip,
                       Endpoint(IPv4Address("10.0.2.1"), 50001), spec.backend, spec.splice)
    lone_server, lone_client = splice_entries(other, 5, 1, IDLE_NS)
    specs, orphans = splice_specs([to_server, lone_server], [to_client])
    (found,) = specs
    assert (found.client, found.vip, found.local, found.backend) == (
        spec.client, spec.vip, spec.local, spec.backend)
    assert found.installed_form() == spec.installed_form()
    assert splice_entries(found, 5, 1, IDLE_NS) == (to_server, to_client)
    assert orphans == [lone_server]
    assert splice_specs([], [lone_client]) == ([], [lone_client])
