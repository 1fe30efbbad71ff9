"""Capabilities and Set/GetForwardingPipelineConfig."""

from __future__ import annotations

import json

import grpc
from finsy.proto import p4r
from p4rt_fixture import mini_config
from p4rt_testlib import Client, Server, code_of, insert, lpm_entry

Action = p4r.SetForwardingPipelineConfigRequest
Get = p4r.GetForwardingPipelineConfigRequest


def get(client: Client, response_type: Get.ResponseType.ValueType = Get.ALL
        ) -> p4r.ForwardingPipelineConfig:
    request = Get(device_id=client.device_id, response_type=response_type)
    return client.stub.GetForwardingPipelineConfig(request).config


def test_capabilities(server: Server) -> None:
    with Client(server.address) as client:
        response = client.stub.Capabilities(p4r.CapabilitiesRequest())
        assert response.p4runtime_api_version.startswith("1.")


def test_before_any_pipeline_everything_is_failed_precondition(server: Server) -> None:
    with Client(server.address) as client:
        client.become_primary(1)
        assert code_of(lambda: get(client)) == grpc.StatusCode.FAILED_PRECONDITION
        assert code_of(lambda: client.read(p4r.Entity(table_entry=p4r.TableEntry()))) == (
            grpc.StatusCode.FAILED_PRECONDITION)
        assert code_of(lambda: client.write(insert(table_entry=lpm_entry(b"\x0a", 8)))) == (
            grpc.StatusCode.FAILED_PRECONDITION)


def test_get_returns_what_was_set_per_response_type(server: Server) -> None:
    with Client(server.address) as client:
        client.become_primary(1)
        config = mini_config(cookie=77)
        client.set_pipeline(config)
        assert get(client) == config
        cookie_only = get(client, Get.COOKIE_ONLY)
        assert cookie_only.cookie.cookie == 77
        assert not cookie_only.HasField("p4info") and not cookie_only.p4_device_config
        p4info_only = get(client, Get.P4INFO_AND_COOKIE)
        assert p4info_only.p4info == config.p4info and not p4info_only.p4_device_config
        device_only = get(client, Get.DEVICE_CONFIG_AND_COOKIE)
        assert device_only.p4_device_config == config.p4_device_config
        assert not device_only.HasField("p4info")


def test_verify_does_not_change_the_device(server: Server) -> None:
    with Client(server.address) as client:
        client.become_primary(1)
        client.set_pipeline(action=Action.VERIFY)
        assert code_of(lambda: get(client)) == grpc.StatusCode.FAILED_PRECONDITION


def test_verify_and_save_then_commit(server: Server) -> None:
    with Client(server.address) as client:
        client.become_primary(1)
        assert code_of(lambda: client.set_pipeline(p4r.ForwardingPipelineConfig(),
                                                   Action.COMMIT)) == (
            grpc.StatusCode.FAILED_PRECONDITION)
        client.set_pipeline(mini_config(cookie=5), Action.VERIFY_AND_SAVE)
        assert code_of(lambda: get(client)) == grpc.StatusCode.FAILED_PRECONDITION
        client.set_pipeline(p4r.ForwardingPipelineConfig(), Action.COMMIT)
        assert get(client).cookie.cookie == 5


def test_commit_resets_state_and_reconcile_keeps_it(client: Client) -> None:
    client.write(insert(table_entry=lpm_entry(b"\x0a\x00\x00\x00", 8)))
    client.set_pipeline(mini_config(cookie=9), Action.RECONCILE_AND_COMMIT)
    assert get(client).cookie.cookie == 9
    assert len(client.read(p4r.Entity(table_entry=p4r.TableEntry()))) == 1
    client.set_pipeline(mini_config(), Action.VERIFY_AND_COMMIT)
    assert client.read(p4r.Entity(table_entry=p4r.TableEntry())) == []


def test_invalid_configs_are_rejected(server: Server) -> None:
    with Client(server.address) as client:
        client.become_primary(1)
        no_p4info = mini_config()
        no_p4info.ClearField("p4info")
        not_json = mini_config()
        not_json.p4_device_config = b"\x00garbage"
        wrong_table = mini_config()
        wrong_table.p4info.tables[0].preamble.name = "MyIngress.missing"
        for config in (no_p4info, not_json, wrong_table):
            assert code_of(lambda c=config: client.set_pipeline(c)) == (
                grpc.StatusCode.INVALID_ARGUMENT)
        assert code_of(lambda: client.set_pipeline(mini_config(), Action.UNSPECIFIED)) == (
            grpc.StatusCode.INVALID_ARGUMENT)


def _with_bad_node(where: str) -> p4r.ForwardingPipelineConfig:
    """mini.json with one node simple_switch's loader refuses (issue 14)."""
    config = mini_config()
    program = json.loads(config.p4_device_config)
    if where == "parser":  # a lookahead inside an expression: only a whole 'set' source is
        program["parsers"][0]["parse_states"][0]["parser_ops"].append(
            {"op": "set", "parameters": [
                {"type": "field", "value": ["standard_metadata", "egress_spec"]},
                {"type": "expression", "value": {"type": "expression", "value": {
                    "op": "+", "left": {"type": "lookahead", "value": [0, 8]},
                    "right": {"type": "hexstr", "value": "0x01"}}}}]})
    else:  # action data inside an expression must be 'local', not 'runtime_data'
        action = next(a for a in program["actions"] if a["name"] == "MyIngress.set_nhop")
        action["primitives"][1]["parameters"][1] = {
            "type": "expression", "value": {"type": "expression", "value": {
                "op": "&", "left": {"type": "runtime_data", "value": 1},
                "right": {"type": "hexstr", "value": "0x01ff"}}}}
    config.p4_device_config = json.dumps(program).encode()
    return config


def test_json_the_real_switch_refuses_is_refused_with_the_object_named(server: Server) -> None:
    with Client(server.address) as client:
        client.become_primary(1)
        for where, expected in (
                ("parser", "parse state 'start', parser op 'set': Invalid 'type' in "
                           "expression: 'lookahead'"),
                ("action", "action 'MyIngress.set_nhop', primitive 'assign' parameter 1: "
                           "Invalid 'type' in expression: 'runtime_data'")):
            try:
                client.set_pipeline(_with_bad_node(where))
            except grpc.RpcError as err:
                assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
                assert expected in (err.details() or "")
            else:
                raise AssertionError(f"the {where} node was accepted")
        # the switch is still serving and takes the same program once it is well-formed
        client.set_pipeline(mini_config())
        assert get(client, Get.COOKIE_ONLY).cookie.cookie == 1


def test_unknown_device_id(server: Server) -> None:
    with Client(server.address, device_id=3) as client:
        assert code_of(lambda: get(client)) == grpc.StatusCode.NOT_FOUND
