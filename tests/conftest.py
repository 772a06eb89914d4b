"""Shared fixtures, and how the property tests draw their examples.

The property tests (hypothesis) draw the same examples on every run by default, so that a
clean-clone CI run is reproducible: a failure is a bug to fix, never a roll of the dice.
``HYPOTHESIS_PROFILE=explore python -m pytest`` draws new ones on each run, to look for
more (a failure it finds belongs in a test as a fixed example).
"""

import os
import random

import pytest
from hypothesis import settings

settings.register_profile("repeatable", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))


@pytest.fixture
def rng():
    return random.Random(12345)
