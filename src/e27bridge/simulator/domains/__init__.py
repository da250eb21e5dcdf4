"""One module per panel domain behind ``simulator.panel``'s dispatcher (see base.py)."""
