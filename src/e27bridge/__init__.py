"""e27bridge: one long-lived session per Elk E27 panel, republished over MQTT."""

__version__ = "0.1.0"
