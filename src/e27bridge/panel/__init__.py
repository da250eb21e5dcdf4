"""The panel engine: one session per panel, a single-in-flight queue, reconnect, state."""
