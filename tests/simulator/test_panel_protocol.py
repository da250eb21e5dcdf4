"""Reply shapes, permissions, sessions, authentication and paging of the pure panel."""

from __future__ import annotations

import pytest

from e27bridge.protocol.errors import PanelErrorCode as E
from e27bridge.simulator.panel import PERMISSIONS, SessionAuth
from e27bridge.simulator.settings import NUMERIC_STRING_DEFAULT, PAGED_COMMANDS, ScenarioError

from .test_panel_support import Harness, configure


def test_normal_reply_shape_is_form_a_with_root_seq() -> None:
    h = Harness()
    reply = h.raw("area", "get_status", {"area_id": 1})
    assert reply["seq"] == 1
    assert set(reply) == {"seq", "area"}
    body = reply["area"]["get_status"]
    assert body["error_code"] == 0 and body["area_id"] == 1
    assert body["arm_state"] == "DISARMED" and body["ready_status"] == "RDY_AWAY"


def test_true_is_accepted_as_arguments_everywhere() -> None:
    h = Harness()
    for domain, command in [
        ("area", "get_table_info"),
        ("zone", "get_all_zones_status"),
        ("output", "get_all_outputs_status"),
        ("system", "r_u_alive"),
        ("system", "get_trouble"),
        ("control", "get_version_info"),
        ("control", "get_trouble"),
        ("bus_io_dev", "get_trouble"),
        ("log", "get_index"),
        ("zone", "get_configured"),
        ("zone", "get_defs"),
    ]:
        assert h.code(domain, command, True) == 0, (domain, command)


def test_unknown_domain_is_a_root_error_and_unknown_command_a_domain_error() -> None:
    h = Harness()
    reply = h.raw("toaster", "get_status", {})
    assert reply == {"seq": 1, "error_code": 11001, "error_message": "unrecognized command"}
    inbound = h.send("zone", "make_coffee", {})
    assert inbound.error_code == E.UNRECOGNIZED_CMD and inbound.command is None
    # Known to the permission table, not modelled: 11001 too (protocol §13.17).
    assert h.code("wltx", "get_table_info", {}) == E.UNRECOGNIZED_CMD


def test_commands_above_the_session_level_get_11008_in_domain_form() -> None:
    h = Harness()
    reply = h.raw("user", "get_attribs", {"user_id": 1})
    assert reply == {"seq": 1, "user": {"error_code": 11008, "error_message": "no authorization"}}
    assert h.code("network", "get_ssid", {}) == E.NOAUTH  # installer level
    # Permission-table-only domains too: level checked before "not modelled".
    assert h.code("zwave", "inclusion", {}) == E.NOAUTH


def test_disarmed_only_commands_are_refused_while_armed() -> None:
    h = Harness(configure(time_scale=1000))
    h.authenticate(9713)  # installer
    assert h.code("system", "reset_smokes", True) == E.UNRECOGNIZED_CMD  # allowed, not modelled
    h.ok("area", "set_arm_state", {"area_id": 1, "arm_state": "ARMED_STAY", "pin": 1234})
    assert h.code("system", "reset_smokes", True) == E.NOT_ALLOWED_WHEN_ARMED
    assert h.code("zone", "set_attribs", {"zone_id": 1}) == E.NOT_ALLOWED_WHEN_ARMED


def test_wrong_session_id_gets_11036_unless_the_check_is_off() -> None:
    h = Harness()
    reply = h.raw("area", "get_status", {"area_id": 1}, session_id=999)
    assert reply["error_code"] == E.INVALID_SESSION and reply["seq"] == 1
    lenient = Harness(configure(check_session_id=False))
    assert lenient.code("area", "get_status", {"area_id": 1}, session_id=999) == 0


def test_authenticate_reply_nests_seq_and_a_new_session_id_the_server_adopts() -> None:
    h = Harness()
    old = h.auth.session_id
    reply = h.raw("authenticate", None, {"pin": 1234})
    assert "seq" not in reply
    body = reply["authenticate"]
    assert body["seq"] == 1 and body["error_code"] == 0
    assert body["session_id"] != old and body["session_id"] == h.auth.session_id
    assert body["user_id"] == 1 and body["installer"] is False
    assert isinstance(body["zone_csm"], int) and isinstance(body["area_csm"], int)
    assert h.auth.level == 3  # the owner is a master user
    # The old id is now stale.
    assert h.code("area", "get_status", {"area_id": 1}, session_id=old) == E.INVALID_SESSION
    assert h.ok("user", "get_attribs", {"user_id": 2})["pin"] == h.config.inventory.users[1].pin


def test_legacy_control_authenticate_uses_the_normal_form() -> None:
    h = Harness()
    reply = h.raw("control", "authenticate", {"pin": 1234})
    assert reply["seq"] == 1
    assert reply["control"]["authenticate"]["session_id"] == h.auth.session_id


@pytest.mark.parametrize(
    ("pin", "code"),
    [(1111, E.INVALID_PIN), ("1234", E.NOAUTH), (None, E.NOAUTH), (True, E.INVALID_PARAM)],
)
def test_refused_authenticate_keeps_session_and_level(pin: object, code: int) -> None:
    h = Harness()
    inbound = h.send("authenticate", None, {"pin": pin} if pin is not None else {})
    assert inbound.error_code == code
    assert h.auth.session_id == 4242 and h.auth.level == 1


def test_auth_fail_code_is_configurable() -> None:
    h = Harness(configure(auth_fail_code=11008))
    assert h.code("authenticate", None, {"pin": 5}) == E.NOAUTH


def test_privilege_window_slides_with_privileged_commands_and_expires_silently() -> None:
    h = Harness(configure(time_scale=10))  # 60 panel seconds = 6 s
    h.authenticate()
    h.now += 5
    assert h.code("user", "get_attribs", {"user_id": 1}) == 0  # restarts the window
    h.now += 5
    assert h.code("area", "get_status", {"area_id": 1}) == 0  # level 1: does not restart
    assert h.code("user", "get_attribs", {"user_id": 1}) == 0
    h.now += 6.01
    assert h.code("user", "get_attribs", {"user_id": 1}) == E.NOAUTH
    assert h.auth.level == 1 and h.auth.user_id is None
    assert h.broadcasts() == []  # nothing is sent on expiry


def test_permission_table_covers_the_commands_the_protocol_lists() -> None:
    assert PERMISSIONS["user"]["get_attribs"] == 2
    assert PERMISSIONS["network"]["get_ssid"] == 4
    assert PERMISSIONS["system"]["reset_smokes"] == 5
    assert PERMISSIONS["lock"]["set_user_code"] == 7
    assert PERMISSIONS["log"]["clear"] == 8
    for domain in ("area", "zone", "output", "light", "lock", "tstat", "barrier"):
        assert PERMISSIONS[domain]["get_table_info"] == 1


# ------------------------------------------------------------------ tables and paging


def test_table_info_per_domain() -> None:
    h = Harness()
    sizes = h.config.inventory.table_elements
    for domain in ("area", "zone", "output", "light", "lock", "tstat", "barrier", "keypad"):
        body = h.ok(domain, "get_table_info", {})
        assert body["table_elements"] == sizes[domain]
        assert isinstance(body["table_csm"], int)
    assert h.ok("log", "get_table_info", {})["table_elements"] == 250


def test_table_csm_depends_on_configuration() -> None:
    small, large = Harness(configure("small")), Harness(configure("large"))
    assert (
        small.ok("zone", "get_table_info", {})["table_csm"]
        != large.ok("zone", "get_table_info", {})["table_csm"]
    )
    again = Harness(configure("small"))
    assert (
        small.ok("zone", "get_table_info", {})["table_csm"]
        == again.ok("zone", "get_table_info", {})["table_csm"]
    )


def test_get_configured_pages_by_block_size() -> None:
    h = Harness(configure("large", block_size=16))
    first = h.ok("zone", "get_configured", {"block_id": 1})
    count = first["block_count"]
    assert count == 7  # 100 zones
    ids = list(first["zones"])
    for block in range(2, count + 1):
        body = h.ok("zone", "get_configured", {"block_id": block})
        assert body["block_id"] == block and body["block_count"] == count
        ids += body["zones"]
    assert ids == [z.id for z in h.config.inventory.zones]
    assert h.code("zone", "get_configured", {"block_id": count + 1}) == E.INVALID_ID
    assert h.code("zone", "get_configured", {"block_id": 0}) == E.INVALID_ID


def test_numeric_string_blocks_follow_their_probability() -> None:
    always = Harness(configure(numeric_string_blocks=1.0, numeric_string_commands=PAGED_COMMANDS))
    body = always.ok("area", "get_configured", {"block_id": 1})
    assert body["block_id"] == "1" and body["block_count"] == "1" and body["areas"] == [1]
    mixed = Harness(
        configure("large", numeric_string_blocks=0.5, numeric_string_commands=PAGED_COMMANDS)
    )
    kinds = {
        type(mixed.ok("zone", "get_configured", {"block_id": 1})["block_id"]) for _ in range(40)
    }
    assert kinds == {int, str}
    # A client echoing a numeric string back is understood.
    assert always.ok("area", "get_configured", {"block_id": "1"})["areas"] == [1]


def test_numeric_strings_by_default_only_where_the_reference_copes() -> None:
    h = Harness(configure("large", numeric_string_blocks=1.0))  # default command set
    assert h.config.behaviour.numeric_string_commands == NUMERIC_STRING_DEFAULT
    assert isinstance(h.ok("zone", "get_configured", {"block_id": 1})["block_id"], int)
    assert isinstance(h.ok("area", "get_configured", {"block_id": 1})["block_count"], int)
    assert h.ok("zone", "get_defs", {"block_id": 1})["block_id"] == "1"
    assert h.ok("output", "get_all_outputs_status", {})["block_count"] == "1"
    assert h.ok("rule", "get_rules", {"block_id": 0})["block_id"] == "0"
    with pytest.raises(ScenarioError, match=r"zone\.get_status is not paged"):
        configure(numeric_string_commands=("zone.get_status",))


def test_every_entity_domain_has_inventory_and_attribs() -> None:
    h = Harness(configure("large"))
    inv = h.config.inventory
    expected = {
        "area": inv.areas,
        "zone": inv.zones,
        "output": inv.outputs,
        "light": inv.lights,
        "lock": inv.locks,
        "tstat": inv.tstats,
        "barrier": inv.barriers,
        "keypad": inv.keypads,
        "user": inv.users,
    }
    h.authenticate()
    for domain, items in expected.items():
        body = h.ok(domain, "get_configured", {"block_id": 1})
        plural = f"{domain}s"
        assert body[plural] == [item.id for item in items][: h.config.behaviour.block_size]
        first = items[0]
        attribs = h.ok(domain, "get_attribs", {f"{domain}_id": first.id})
        assert attribs["name"] == first.name
        assert h.code(domain, "get_attribs", {f"{domain}_id": 250}) == E.INVALID_ID


def test_get_attribs_and_status_errors_keep_the_id() -> None:
    h = Harness()
    inbound = h.send("zone", "get_status", {"zone_id": 200})
    assert inbound.error_code == E.INVALID_ID and inbound.body["zone_id"] == 200
    assert h.code("zone", "get_status", {"zone_id": "3"}) == E.INVALID_PARAM
    assert h.code("zone", "get_status", {}) == E.INVALID_PARAM


def test_zone_defs_list_includes_undefined_and_undefined_zones_exist() -> None:
    h = Harness(configure("large"))
    defs = h.ok("zone", "get_defs", {"block_id": 1})
    assert defs["definitions"][0] == "UNDEFINED" and defs["block_count"] == 1
    undefined = [z for z in h.config.inventory.zones if z.definition == "UNDEFINED"]
    assert len(undefined) == 4
    assert h.ok("zone", "get_attribs", {"zone_id": undefined[0].id})["definition"] == "UNDEFINED"
    flags = h.ok("zone", "get_def_flags", {"definition": "FIRE"})
    assert flags["definition"] == "FIRE" and isinstance(flags["flags"], list)
    small_blocks = Harness(configure(block_size=4))
    assert small_blocks.ok("zone", "get_defs", {"block_id": 2})["definitions"] == [
        "BURG_INTERIOR",
        "BURG_INTERIOR_DELAY",
        "BURG_24HR",
        "FIRE",
    ]


def test_domain_counts_count_every_request() -> None:
    h = Harness()
    h.ok("zone", "get_status", {"zone_id": 1})
    h.code("zone", "get_status", {"zone_id": 99})
    h.ok("system", "r_u_alive", {})
    h.authenticate()
    assert h.panel.domain_counts() == {"zone": 2, "system": 1, "authenticate": 1}


def test_second_session_has_its_own_level() -> None:
    h = Harness()
    h.authenticate()
    other = SessionAuth(session_id=77)
    assert h.code("user", "get_attribs", {"user_id": 1}, auth=other) == E.NOAUTH
    assert h.code("user", "get_attribs", {"user_id": 1}) == 0


def test_every_command_survives_odd_arguments() -> None:
    """No argument shape makes the panel raise; every reply routes and correlates."""
    h = Harness()
    h.authenticate(9713)  # installer: reach every handler
    odd: list[object] = [
        True,
        {},
        [],
        "x",
        None,
        {"block_id": -1},
        {"block_id": "abc"},
        {"pin": [1234], "BYPASSED": "yes", "status": 5, "level": 1.5, "mode": ["HEAT"]},
        {"zone_id": 1, "area_id": 1, "output_id": 1, "light_id": 1, "lock_id": 1},
        {"tstat_id": 1, "barrier_id": 1, "keypad_id": 1, "user_id": 1, "log_id": 1},
        {"area_id": True, "zone_id": 2**40, "arm_state": None, "Chime": 1, "cnt": -3},
        {"definition": {"a": 1}, "start": "9", "date": "x", "alarm_event": 7},
    ]
    for domain, commands in PERMISSIONS.items():
        for command in commands:
            for args in odd:
                h.now += 0.001
                h.auth.privilege_until = h.now + 60  # stay installer
                inbound = h.send(domain, command, args)
                assert isinstance(inbound.error_code, int)
    h.panel.advance(h.now + 1000)
