"""Sub-commands of the ``e27bridge`` CLI, one module each (see ``e27bridge.cli``)."""
