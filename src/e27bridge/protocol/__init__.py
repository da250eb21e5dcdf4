"""Sans-IO E27 protocol core: pure functions and state machines, no sockets and no clocks.

Both roles use it: the bridge (client) and the simulator (panel). Time, randomness and
bytes come in as arguments; bytes and typed events come out.
"""
