"""Example counts for the fuzz (property) tests, scaled by the hypothesis profile.

The ``ci`` profile (default, what ``scripts/test.sh`` runs) gives each test its full count:
together over 100,000 cases. ``HYPOTHESIS_PROFILE=quick`` runs a tenth of them while
developing. Every fuzz test takes its settings from :func:`fuzz`.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

SCALES = {"ci": 1.0, "quick": 0.1}
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
for name in SCALES:
    settings.register_profile(
        name, deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
    )
settings.load_profile(PROFILE)
SCALE = SCALES.get(PROFILE, 1.0)


def fuzz(examples: int) -> settings:
    """``examples`` cases under the ``ci`` profile (scaled under others); no deadline, since
    CI machines are slow and shared."""
    return settings(max_examples=max(10, int(examples * SCALE)))
