"""Name pools and count tables for the built-in inventory profiles (ecosystem §7.1).

Kept apart from ``config`` so the data (long lists of plausible house names) does not
drown the configuration logic. Everything here is immutable and deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass

# Zone definitions served by ``zone.get_defs``; index 1 = first entry (protocol §20 item 17).
ZONE_DEFINITIONS: tuple[str, ...] = (
    "UNDEFINED",
    "BURG_PERIM_DELAY",
    "BURG_PERIM_INST",
    "BURG_INTERIOR_FOLLOWER",
    "BURG_INTERIOR",
    "BURG_INTERIOR_DELAY",
    "BURG_24HR",
    "FIRE",
    "FIRE_VERIFIED",
    "CO",
    "WATER",
    "TEMPERATURE",
    "AUX_24HR",
    "PANIC",
    "NON_ALARM",
)

# Table sizes (``table_elements``): the same hardware whatever the profile. Zones allow
# the 256-slot stress case; the others follow the "max" column of §7.1.
TABLE_ELEMENTS: dict[str, int] = {
    "area": 8,
    "zone": 256,
    "output": 208,
    "light": 256,
    "lock": 32,
    "tstat": 16,
    "barrier": 8,
    "keypad": 16,
    "user": 203,
}


@dataclass(frozen=True, slots=True)
class ProfileCounts:
    areas: int
    motion: int
    contacts: int
    smoke: int
    water: int
    undefined: int
    outputs: int
    keypads: int
    users: int
    tstats: int
    lights: int
    locks: int
    barriers: int
    rules: int
    log_capacity: int


PROFILE_COUNTS: dict[str, ProfileCounts] = {
    "small": ProfileCounts(1, 3, 10, 2, 1, 0, 2, 1, 4, 1, 2, 1, 1, 4, 250),
    "large": ProfileCounts(3, 18, 60, 8, 10, 4, 16, 5, 20, 4, 40, 6, 3, 40, 1000),
    "max": ProfileCounts(8, 48, 120, 16, 24, 16, 208, 16, 203, 16, 256, 32, 8, 250, 1000),
}

AREA_NAMES: tuple[str, ...] = (
    "Main House",
    "Guest House",
    "Pool House",
    "Workshop",
    "Barn",
    "Office",
    "Apartment",
    "Boathouse",
)

ROOMS: tuple[str, ...] = (
    "Kitchen",
    "Living Room",
    "Dining Room",
    "Family Room",
    "Hallway",
    "Master Bedroom",
    "Bedroom 2",
    "Bedroom 3",
    "Bedroom 4",
    "Office",
    "Den",
    "Basement",
    "Laundry",
    "Mudroom",
    "Foyer",
    "Garage",
    "Attic",
    "Guest Room",
    "Playroom",
    "Library",
    "Sunroom",
    "Gym",
    "Media Room",
    "Upstairs Hall",
    "Stairway",
    "Pantry",
    "Workshop",
    "Studio",
    "Nursery",
    "Bonus Room",
)

# First contacts get the names everyone expects; further ones are room windows.
DOOR_NAMES: tuple[str, ...] = (
    "Front Door",
    "Back Door",
    "Garage Entry Door",
    "Patio Door",
    "Side Door",
    "Basement Door",
    "Deck Slider",
    "Mudroom Door",
)

MOTION_SUFFIX = "Motion"
SMOKE_KINDS: tuple[tuple[str, str], ...] = (("Smoke", "FIRE"), ("CO", "CO"))
WATER_KINDS: tuple[tuple[str, str], ...] = (
    ("Water", "WATER"),
    ("Leak", "WATER"),
    ("Freeze", "TEMPERATURE"),
)
WATER_PLACES: tuple[str, ...] = (
    "Basement",
    "Laundry",
    "Water Heater",
    "Kitchen Sink",
    "Dishwasher",
    "Master Bath",
    "Guest Bath",
    "Sump Pit",
    "Freezer",
    "Crawlspace",
    "Utility Room",
    "Wine Cellar",
)

OUTPUT_NAMES: tuple[str, ...] = (
    "Siren",
    "Strobe",
    "Garden Sprinkler",
    "Porch Light Relay",
    "Gate Release",
    "Pool Pump",
    "Doorbell Chime",
    "Attic Fan",
)

KEYPAD_PLACES: tuple[str, ...] = (
    "Front Hall",
    "Garage",
    "Master Bedroom",
    "Kitchen",
    "Basement",
    "Back Door",
    "Guest Suite",
    "Office",
)

USER_NAMES: tuple[str, ...] = (
    "Owner",
    "Alex",
    "Sam",
    "Jordan",
    "Taylor",
    "Morgan",
    "Casey",
    "Riley",
    "Jamie",
    "Avery",
    "Quinn",
    "Parker",
    "Drew",
    "Reese",
    "Skyler",
    "Cleaner",
    "Dog Walker",
    "Babysitter",
    "Neighbour",
)

LOCK_NAMES: tuple[str, ...] = (
    "Front Door Lock",
    "Back Door Lock",
    "Garage Entry Lock",
    "Patio Door Lock",
    "Side Door Lock",
    "Basement Door Lock",
)

TSTAT_NAMES: tuple[str, ...] = (
    "Downstairs Thermostat",
    "Upstairs Thermostat",
    "Basement Thermostat",
    "Guest Suite Thermostat",
)

BARRIER_NAMES: tuple[str, ...] = ("Garage Door", "Garage Door 2", "Driveway Gate")


def cycle_name(pool: tuple[str, ...], index: int, suffix: str = "") -> str:
    """``pool[index]`` and, past the end of the pool, the same names numbered 2, 3, ...

    Gives unique, plausible names for any count without an endless list.
    """
    base = pool[index % len(pool)]
    lap = index // len(pool)
    name = f"{base} {suffix}".strip() if suffix else base
    return name if lap == 0 else f"{name} {lap + 1}"


# Zone definition -> behaviour class used by the panel. Unknown custom names behave like
# "instant" burglary zones, which is the safe choice for a test panel.
DEFINITION_BEHAVIOUR: dict[str, str] = {
    "UNDEFINED": "none",
    "BURG_PERIM_DELAY": "delay",
    "BURG_PERIM_INST": "instant",
    "BURG_INTERIOR_FOLLOWER": "follower",
    "BURG_INTERIOR": "interior",
    "BURG_INTERIOR_DELAY": "interior_delay",
    "BURG_24HR": "24h",
    "FIRE": "24h",
    "FIRE_VERIFIED": "24h",
    "CO": "24h",
    "WATER": "24h",
    "TEMPERATURE": "24h",
    "AUX_24HR": "24h",
    "PANIC": "24h",
    "NON_ALARM": "none",
}

# Alarm type reported in ``alarm_state`` for a zone definition.
DEFINITION_ALARM: dict[str, str] = {
    "FIRE": "FIRE",
    "FIRE_VERIFIED": "FIRE",
    "CO": "CARBON_MONOXIDE",
    "WATER": "WATER",
    "TEMPERATURE": "TEMPERATURE",
    "AUX_24HR": "AUXILIARY",
    "PANIC": "PANIC",
}

NOT_BYPASSABLE_DEFINITIONS = frozenset({"FIRE", "FIRE_VERIFIED", "CO", "PANIC"})
