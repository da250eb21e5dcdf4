"""MQTT layer: Homie v5 and Home Assistant discovery out, ``/set`` commands in.

Each feature (Homie, HA discovery, commands, bridge topics, event stream) is one module
that reads engine events and snapshots on its own; ``bridge.py`` wires them together.
"""
