"""Required permission level per command and the panel's error texts (vector data)."""

from __future__ import annotations

from e27bridge.protocol.errors import PanelErrorCode as E

# Required level per command (vector ``permission_levels``), wire domain names. Levels 5..8
# are the ``_DISARMED`` variants of 1..4.
_PERMISSION_TEXT = """
area 1 get_attribs get_bypassed_zones get_configured get_def_flags get_status get_table_info
area 1 get_troubles get_trouble get_unsecure_zones get_num_not_rdy_zones set_alarm_state
area 1 set_arm_state set_status
area 7 alarm_test
area 8 del_attribs realloc set_attribs
barrier 1 get_attribs get_configured get_status get_table_info set_status
barrier 8 del_attribs set_attribs
bus_io_dev 1 get_attribs get_configured get_dev_error_counts get_error_counts get_table_info
bus_io_dev 1 get_trouble get_version_info
bus_io_dev 8 change_id del_attribs fill_default realloc set_attribs set_sn start_discovery
bus_io_dev 8 stop_discovery
cell 1 get_attribs get_table_info
cell 8 default set_attribs
control 1 get_factory_attribs get_ssp_version_info get_system_time get_table_alloc_info
control 1 get_table_info get_trouble get_version_info silence_trouble authenticate
control 3 set_system_time
control 4 backup set_factory_attribs test_realloc
control 8 default load_default restore
cs_param 1 get_attribs get_configured get_cs_paths get_def_flags get_table_info get_trouble
cs_param 8 commtest del_attribs set_attribs set_cs_paths
flag 1 get_attribs get_configured get_table_info
flag 7 del_attribs set_attribs
keyfob 1 get_attribs get_configured get_table_info get_trouble
keyfob 8 change_id default del_attribs set_attribs
keypad 1 get_attribs get_configured get_def_flags get_table_info get_version_info
keypad 8 change_id del_attribs set_attribs
light 1 get_attribs get_configured get_status get_table_info set_status
light 8 del_attribs set_attribs
lock 1 get_attribs get_configured get_status get_table_info set_status
lock 7 get_user_code set_user_code
lock 8 del_attribs set_attribs
log 1 get_attribs get_index get_list get_log get_table_info get_trouble
log 8 clear realloc set_attribs
net_dev 1 get_attribs get_list get_table_info
net_dev 2 logout
net_dev 4 get_creds
net_dev 8 default del_attribs set_attribs set_creds link
network 1 get_table_info get_rssi
network 4 get_attribs get_ssid set_attribs restart
output 1 get_all_outputs_status get_attribs get_available get_configured get_status
output 1 get_table_info refresh_status set_status
output 8 del_attribs realloc set_attribs
register 1 get_attribs get_configured get_table_info
register 7 del_attribs set_attribs
repeater 1 get_attribs get_configured get_table_info
repeater 8 del_attribs realloc set_attribs
rule 1 get_rules get_storage_size get_table_info get_trouble process
rule 8 realloc set_rules
system 1 get_attribs get_cutoffs get_sounders get_system_time get_table_info get_trouble
system 1 get_troubles get_update r_u_alive
system 4 file_info get_debug_flags get_debug_string set_debug_flags
system 5 reset_smokes
system 7 set_system_time
system 8 reconfig set_attribs set_cutoffs set_run set_system_key start_updt
task 1 activate get_attribs get_configured get_table_info
task 8 del_attribs set_attribs
template 4 get_configured
timer 1 get_attribs get_configured get_table_info
timer 7 del_attribs set_attribs
tstat 1 get_attribs get_configured get_status get_table_info set_status
tstat 8 del_attribs realloc set_attribs
user 1 get_configured get_table_info
user 2 get_attribs
user 7 del_attribs get_def_flags set_attribs
user 8 realloc
user_value 1 get_attribs get_configured get_table_info
user_value 7 set_attribs
user_value 8 del_attribs realloc
usergroup 1 get_attribs get_configured get_table_info
usergroup 7 del_attribs set_attribs
wiegand 1 get_attribs get_configured get_table_info
wiegand 7 del_attribs set_attribs
wiegand 8 realloc
win_cover 1 get_attribs get_configured get_status get_table_info set_status
win_cover 8 del_attribs realloc set_attribs
wltx 1 get_attribs get_configured get_table_info get_trouble get_version_info
wltx 8 change_id default del_attribs realloc set_attribs start_discovery stop_discovery
zone 1 get_all_zones_status get_attribs get_available get_configured get_def_flags get_defs
zone 1 get_status get_table_info pwr_get_trouble set_status
zone 8 default del_attribs fill_default realloc set_attribs
zwave 1 get_attribs get_battery get_configured get_mfr get_node_info get_route_info get_rssi
zwave 1 get_secure_node_info get_supported_sensor get_table_info get_trouble
zwave 2 set_scene
zwave 7 heal_node restart
zwave 8 abort assign_return_route clear default exclusion inclusion rem_failed set_assoc
zwave 8 set_attribs set_config
"""


def _parse_permissions(text: str) -> dict[str, dict[str, int]]:
    table: dict[str, dict[str, int]] = {}
    for line in text.strip().splitlines():
        domain, level, *commands = line.split()
        for command in commands:
            table.setdefault(domain, {})[command] = int(level)
    return table


PERMISSIONS: dict[str, dict[str, int]] = _parse_permissions(_PERMISSION_TEXT)
# Commands that carry a user code (arm/disarm, bypass).
CODE_COMMANDS = frozenset({("area", "set_arm_state"), ("zone", "set_status")})

ERROR_TEXT: dict[int, str] = {
    E.UNRECOGNIZED_CMD: "unrecognized command",
    E.INVALID_PARAM: "invalid parameter",
    E.INVALID_ID: "invalid_id",
    E.NOAUTH: "no authorization",
    E.NOT_READY: "not ready",
    E.INVALID_MODE: "invalid mode",
    E.NOT_BYPASSABLE: "not bypassable",
    E.IN_ALARM: "in alarm",
    E.NOT_ALLOWED_WHEN_ARMED: "not allowed when armed",
    E.INVALID_SESSION: "invalid session",
    E.INVALID_PIN: "invalid pin",
    E.ZWAVE_BUSY: "zwave busy",
}
