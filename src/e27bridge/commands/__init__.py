"""Sub-commands of the ``e27bridge`` CLI, one module each (see ``e27bridge.cli``).

The exit codes every sub-command returns are defined here once (documented in the README).
"""

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # Ctrl-C while a command runs (128 + SIGINT)
