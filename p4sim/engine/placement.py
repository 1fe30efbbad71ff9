"""Which node types BMv2's loader accepts where in a BMv2 JSON document.

behavioral-model's ``P4Objects.cpp`` builds each place with its own switch over the
node's ``type``: an expression tree (``build_expression``: conditionals, checksum
conditions, header length expressions, extern attributes and the ``expression``
parameters of primitives and parser ops), a primitive parameter
(``process_single_param``), a parser op, a transition key and a calculation input.  A
type that is valid in one place is refused in another: ``lookahead`` is a ``set``
source or a transition key but never an expression node, ``runtime_data`` is a
primitive parameter while an action parameter inside an expression is ``local``.
:func:`check_placement` applies those rules to a whole document before the engine
translates it, so the embedded switch refuses the JSON simple_switch refuses, with
the same kind of message, naming the object.
"""

from __future__ import annotations

from typing import Any

from p4sim.engine.errors import ConfigError

EXPRESSION_NODES = frozenset({"expression", "header", "field", "bool", "hexstr", "local",
                              "register", "header_stack", "stack_field", "header_union",
                              "header_union_stack"})
PRIMITIVE_PARAMETERS = frozenset({"hexstr", "parameters_vector", "runtime_data", "header",
                                  "field", "calculation", "meter_array", "counter_array",
                                  "register_array", "header_stack", "expression", "register",
                                  "extern", "string", "stack_field", "header_union",
                                  "header_union_stack"})
SET_SOURCES = frozenset({"field", "hexstr", "lookahead", "expression"})
ADVANCE_PARAMETERS = frozenset({"field", "hexstr", "expression"})
EXTRACT_TYPES = frozenset({"regular", "stack", "union_stack"})
TRANSITION_KEYS = frozenset({"field", "stack_field", "union_stack_field", "lookahead"})
CALCULATION_INPUTS = frozenset({"field", "hexstr", "header", "payload"})
EXTERN_ATTRIBUTES = frozenset({"hexstr", "string", "expression"})

# operators whose right operand is an integer offset, not a node
_OFFSET_OPERATORS = frozenset({"access_field", "access_union_header"})


def _items(obj: Any, key: str) -> list[Any]:
    value = obj.get(key) if isinstance(obj, dict) else None
    return value if isinstance(value, list) else []


def _type_of(node: Any, where: str) -> str:
    kind = node.get("type") if isinstance(node, dict) else None
    if not isinstance(kind, str):
        raise ConfigError(f"{where}: expected a typed object, got {node!r}")
    return kind


def check_expression(node: Any, where: str, action_data: int | None) -> None:
    """An expression tree as ``build_expression`` reads it; ``action_data`` is the number
    of parameters ``local`` nodes may refer to (None outside an action body)."""
    if node is None:  # the absent operand of a unary operator
        return
    kind = _type_of(node, where)
    value = node.get("value")
    if kind not in EXPRESSION_NODES:
        raise ConfigError(f"{where}: Invalid 'type' in expression: '{kind}'")
    if kind == "expression":
        if not isinstance(value, dict) or not isinstance(value.get("op"), str):
            raise ConfigError(f"{where}: an expression node needs an 'op', got {value!r}")
        if value["op"] == "?":
            check_expression(value.get("cond"), where, action_data)
        check_expression(value.get("left"), where, action_data)
        if value["op"] in _OFFSET_OPERATORS:
            if not isinstance(value.get("right"), int):
                raise ConfigError(f"{where}: '{value['op']}' needs an integer offset")
        else:
            check_expression(value.get("right"), where, action_data)
    elif kind == "local":
        if action_data is None:
            raise ConfigError(f"{where}: 'local' (action data) outside an action")
        if not isinstance(value, int) or not 0 <= value < action_data:
            raise ConfigError(f"{where}: 'local' {value!r} but the action has {action_data} "
                              "parameter(s)")
    elif kind == "register":
        _check_register(value, where, action_data)


def _check_register(value: Any, where: str, action_data: int | None) -> None:
    if not isinstance(value, list) or len(value) != 2:
        raise ConfigError(f"{where}: bad register reference {value!r}")
    index = value[1]
    if _type_of(index, where) != "hexstr":
        check_expression(index, where, action_data)


def check_primitive(primitive: Any, where: str, action_data: int) -> None:
    """A primitive call; ``action_data`` is the number of ``runtime_data`` parameters
    (0 for parser and deparser method calls)."""
    op = primitive.get("op") if isinstance(primitive, dict) else None
    if not isinstance(op, str):
        raise ConfigError(f"{where}: bad primitive {primitive!r}")
    parameters = primitive.get("parameters", [])
    if not isinstance(parameters, list):
        raise ConfigError(f"{where}, primitive '{op}': 'parameters' must be an array")
    for index, parameter in enumerate(parameters):
        _check_parameter(parameter, f"{where}, primitive '{op}' parameter {index}", op,
                         action_data)


def _check_parameter(parameter: Any, where: str, op: str, action_data: int) -> None:
    kind = _type_of(parameter, where)
    value = parameter.get("value")
    if kind not in PRIMITIVE_PARAMETERS:
        raise ConfigError(f"{where}: Parameter type '{kind}' not supported")
    if kind == "runtime_data":
        if not isinstance(value, int) or not 0 <= value < action_data:
            raise ConfigError(f"{where}: Invalid 'runtime_data' parameter reference when "
                              f"calling primitive '{op}': trying to use parameter at offset "
                              f"{value!r} but action only has {action_data} parameter(s)")
    elif kind == "expression":
        check_expression(value, where, action_data)
    elif kind == "register":
        _check_register(value, where, action_data)
    elif kind == "parameters_vector":
        if not isinstance(value, list):
            raise ConfigError(f"{where}: a parameters_vector needs an array value")
        for index, element in enumerate(value):
            _check_parameter(element, f"{where}[{index}]", op, action_data)


def _check_parser_op(parser_op: Any, where: str) -> None:
    op = parser_op.get("op") if isinstance(parser_op, dict) else None
    parameters = parser_op.get("parameters") if isinstance(parser_op, dict) else None
    if not isinstance(op, str) or not isinstance(parameters, list):
        raise ConfigError(f"{where}: bad parser op {parser_op!r}")
    where = f"{where}, parser op '{op}'"
    expected = {"extract": 1, "extract_VL": 2, "set": 2, "verify": 2, "primitive": 1,
                "shift": 1, "advance": 1}
    if op not in expected:
        raise ConfigError(f"{where}: Parser op '{op}' not supported")
    if len(parameters) != expected[op]:
        raise ConfigError(f"{where}: expected {expected[op]} parameter(s), got "
                          f"{len(parameters)}")
    if op in ("extract", "extract_VL"):
        kind = _type_of(parameters[0], where)
        if kind not in EXTRACT_TYPES:
            raise ConfigError(f"{where}: Extract type '{kind}' not supported")
        if op == "extract_VL":
            length = parameters[1]
            if _type_of(length, where) != "expression":
                raise ConfigError(f"{where}: Parser 'extract_VL' operation has invalid length "
                                  f"type '{length['type']}', expected 'expression'")
            check_expression(length.get("value"), where, None)
    elif op == "set":
        if _type_of(parameters[0], where) != "field":
            raise ConfigError(f"{where}: Parser 'set' operation has invalid destination type "
                              f"'{parameters[0]['type']}', expected 'field'")
        source = parameters[1]
        kind = _type_of(source, where)
        if kind not in SET_SOURCES:
            raise ConfigError(f"{where}: Parser 'set' operation has unsupported source type "
                              f"'{kind}'")
        if kind == "expression":
            check_expression(source.get("value"), where, None)
    elif op == "verify":
        check_expression(parameters[0], where, None)
        if not isinstance(parameters[1], int):  # an int is BMv2's older error encoding
            check_expression(parameters[1], where, None)
    elif op == "primitive":
        check_primitive(parameters[0], where, 0)
    elif op == "shift":
        if not isinstance(parameters[0], int):
            raise ConfigError(f"{where}: 'shift' needs an integer byte count")
    else:  # advance
        kind = _type_of(parameters[0], where)
        if kind not in ADVANCE_PARAMETERS:
            raise ConfigError(f"{where}: Parser 'advance' operation has unsupported parameter "
                              f"type '{kind}'")
        if kind == "expression":
            check_expression(parameters[0].get("value"), where, None)


def _check_parsers(cfg: dict[str, Any]) -> None:
    for parser in _items(cfg, "parsers"):
        for state in _items(parser, "parse_states"):
            where = f"parse state {state.get('name')!r}"
            for parser_op in _items(state, "parser_ops"):
                _check_parser_op(parser_op, where)
            for key in _items(state, "transition_key"):
                if _type_of(key, where) not in TRANSITION_KEYS:
                    raise ConfigError(f"{where}: Invalid entry in parse state key: {key!r}")


def _check_inputs(inputs: Any, where: str) -> None:
    for element in inputs if isinstance(inputs, list) else []:
        kind = _type_of(element, where)
        if kind not in CALCULATION_INPUTS:
            raise ConfigError(f"{where}: Unsupported input type '{kind}'")


def _check_actions(cfg: dict[str, Any]) -> dict[Any, int]:
    """Checks every action body; returns the parameter count of each action id."""
    parameters: dict[Any, int] = {}
    for action in _items(cfg, "actions"):
        where = f"action {action.get('name')!r}"
        count = len(_items(action, "runtime_data"))
        parameters[action.get("id")] = count
        for primitive in _items(action, "primitives"):
            check_primitive(primitive, where, count)
    return parameters


def _check_pipelines(cfg: dict[str, Any], parameters: dict[Any, int]) -> None:
    for pipeline in _items(cfg, "pipelines"):
        for conditional in _items(pipeline, "conditionals"):
            check_expression(conditional.get("expression"),
                             f"conditional {conditional.get('name')!r}", None)
        for call in _items(pipeline, "action_calls"):
            if parameters.get(call.get("action_id"), 0) > 0:
                raise ConfigError(f"action call {call.get('name')!r}: Cannot call action "
                                  f"{call.get('action_id')!r} directly from control as it "
                                  "expects parameters")
        for profile in _items(pipeline, "action_profiles"):
            selector = profile.get("selector")
            if isinstance(selector, dict):
                _check_inputs(selector.get("input"),
                              f"action profile {profile.get('name')!r} selector")


def check_placement(cfg: dict[str, Any]) -> None:
    """Raise ConfigError for the first node whose type BMv2 does not accept where it is."""
    for header_type in _items(cfg, "header_types"):
        if "length_exp" in header_type:
            check_expression(header_type["length_exp"],
                             f"header type {header_type.get('name')!r} length_exp", None)
    _check_parsers(cfg)
    for deparser in _items(cfg, "deparsers"):
        for primitive in _items(deparser, "primitives"):
            check_primitive(primitive, f"deparser {deparser.get('name')!r}", 0)
    for calculation in _items(cfg, "calculations"):
        _check_inputs(calculation.get("input"), f"calculation {calculation.get('name')!r}")
    _check_pipelines(cfg, _check_actions(cfg))
    for checksum in _items(cfg, "checksums"):
        check_expression(checksum.get("if_cond"), f"checksum {checksum.get('name')!r} if_cond",
                         None)
    for instance in _items(cfg, "extern_instances"):
        for attribute in _items(instance, "attribute_values"):
            where = f"extern instance {instance.get('name')!r} attribute " \
                    f"{attribute.get('name')!r}"
            kind = _type_of(attribute, where)
            if kind not in EXTERN_ATTRIBUTES:
                raise ConfigError(f"{where}: Only attributes of type 'hexstr', 'string' or "
                                  "'expression' are supported")
            if kind == "expression":
                check_expression(attribute.get("value"), where, None)
