"""Params validate against their JSON schema; the document carries the schema for trigger-time conf."""

import pytest

from airflow.sdk import DAG, Param
from leoflow.sdk.exceptions import ParamValidationError
from leoflow.sdk.jsonschema_lite import SchemaError, validate
from leoflow.sdk.params import ParamsDict
from leoflow.sdk.serialize import serialize_dag


@pytest.mark.parametrize("value, schema", [
    (3, {"type": "integer", "minimum": 1, "maximum": 5}),
    (None, {"type": ["null", "string"]}),
    ("2026-01-05", {"type": "string", "format": "date"}),
    ("2026-01-05T10:00:00+00:00", {"type": "string", "format": "date-time"}),
    ([1, 2], {"type": "array", "items": {"type": "integer"}, "minItems": 1, "uniqueItems": True}),
    ({"a": 1}, {"type": "object", "properties": {"a": {"type": "number"}}, "required": ["a"]}),
    ("b", {"enum": ["a", "b"]}),
    ("abc", {"type": "string", "pattern": "^a", "minLength": 3, "maxLength": 3}),
    (4, {"anyOf": [{"type": "string"}, {"type": "integer"}]}),
])
def test_valid_values(value, schema):
    validate(value, schema)


@pytest.mark.parametrize("value, schema, message", [
    ("x", {"type": "integer"}, "is not of type 'integer'"),
    (True, {"type": "integer"}, "is not of type"),
    (9, {"type": "integer", "maximum": 5}, "greater than the maximum"),
    ("2026-13-01", {"type": "string", "format": "date"}, "is not a 'date'"),
    ([1, 1], {"type": "array", "uniqueItems": True}, "non-unique"),
    ({}, {"type": "object", "required": ["a"]}, "'a' is a required property"),
    ({"a": 1, "b": 2}, {"type": "object", "properties": {"a": {}}, "additionalProperties": False}, "Additional properties"),
    ("c", {"enum": ["a", "b"]}, "is not one of"),
    ([1, "x"], {"type": "array", "items": {"type": "integer"}}, "at [1]"),
])
def test_invalid_values(value, schema, message):
    with pytest.raises(SchemaError, match=message.replace("[", r"\[").replace("]", r"\]")):
        validate(value, schema)


def test_param_resolve_and_params_dict_validate():
    p = Param(5, type="integer", minimum=1)
    assert p.resolve() == 5 and p.resolve(7) == 7
    with pytest.raises(ParamValidationError, match="less than the minimum"):
        p.resolve(0)
    assert p.resolve(0, suppress_exception=True) is None
    params = ParamsDict({"n": Param(1, type="integer"), "s": "plain", "req": Param(type="string")})
    with pytest.raises(ParamValidationError, match="Invalid input for param req"):
        params.validate()
    params["req"] = "given"
    assert params.validate() == {"n": 1, "s": "plain", "req": "given"}


def test_document_has_param_specs_and_scheduled_dags_need_valid_defaults():
    with DAG("p", params={"n": Param(2, type="integer", description="how many"), "need": Param(type="string")}) as d:
        pass
    specs = serialize_dag(d)["param_specs"]
    assert specs["n"] == {"default": 2, "description": "how many", "schema": {"type": "integer"}}
    assert "default" not in specs["need"]
    with DAG("scheduled", schedule="@daily", params={"need": Param(type="string")}) as bad:
        pass
    with pytest.raises(ValueError, match="not allowed to define a Schedule"):
        bad.validate()


_PARAM_DAG = """
import datetime
from airflow.sdk import DAG, Param
from airflow.providers.standard.operators.empty import EmptyOperator
with DAG("p", start_date=datetime.datetime(2021, 1, 1), schedule={schedule}, params={{"x": {param}}}):
    EmptyOperator(task_id="t")
"""


@pytest.mark.parametrize("schedule, param, ok", [
    ('"@daily"', 'Param(type="string", minLength=2)', False),         # required, no default
    ('"@daily"', 'Param(None, type="string")', False),                # None is not a string
    ('"@daily"', 'Param("banana", type="integer")', False),
    ('"@daily"', 'Param("banana", type="string", maxLength=4)', False),
    ("None", 'Param(type="string", minLength=2)', True),               # unscheduled: checked at trigger time
    ('"@daily"', 'Param(None, type=["null", "string"])', True),
])
def test_param_defaults_are_checked_at_parse_time_for_scheduled_dags(dag_file, schedule, param, ok):
    from leoflow.dagproc.parse import parse_file

    result = parse_file(dag_file(_PARAM_DAG.format(schedule=schedule, param=param)))
    assert (result.error is None) == ok, result.error
    if not ok:
        assert "not allowed to define a Schedule" in result.error
