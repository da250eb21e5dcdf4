"""E27 panel simulator: a faithful panel speaking the real wire protocol (issue 3).

``config`` describes the panel, ``panel`` is its pure behaviour, the server modules put it
on the network.
"""
