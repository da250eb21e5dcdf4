"""The ``format`` rules of Homie v5 that JSON Schema cannot express, one datatype at a time."""

from __future__ import annotations

import pytest

from e27bridge.mqtt.homie_rules import format_errors


@pytest.mark.parametrize(
    ("datatype", "fmt", "errors"),
    [
        ("integer", None, []),
        ("integer", "0:99", []),
        ("integer", ":5:1", []),
        ("integer", "99:0", ["integer format '99:0' has min > max"]),
        ("integer", "a:b", ["integer format 'a:b' is not min:max[:step]"]),
        ("float", "-1.5:2e3", []),
        ("float", "1..2", ["float format '1..2' is not min:max[:step]"]),
        ("enum", None, ["format required"]),
        ("enum", "a,b", []),
        ("enum", "a,,b", ["enum format 'a,,b' has an empty value"]),
        ("enum", "a,a", ["enum format 'a,a' has duplicates"]),
        ("enum", ",,", ["enum format ',,' has an empty value", "enum format ',,' has duplicates"]),
        ("color", None, ["format required"]),
        ("color", "rgb,hsv", []),
        ("color", "cmyk", ["color format 'cmyk'"]),
        ("boolean", "off,on", []),
        ("boolean", "on", ["boolean format 'on' is not falseLabel,trueLabel"]),
        ("json", '{"type": "object"}', []),
        ("json", "true", []),
        ("json", "{", ["json format is not a JSON document"]),
        ("json", "[1]", ["json format is not a JSON Schema"]),
        ("string", "anything", []),
        ("datetime", None, []),
    ],
)
def test_format_errors(datatype: str, fmt: str | None, errors: list[str]) -> None:
    assert format_errors(datatype, fmt) == errors
