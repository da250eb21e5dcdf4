"""The reliability suite runs on the end-to-end rig: real mosquitto, simulator, daemon."""

from e2e.conftest import broker, stack

__all__ = ["broker", "stack"]
