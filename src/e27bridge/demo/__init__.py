"""``e27bridge demo``: a simulated panel, an embedded broker and the bridge in one process."""
