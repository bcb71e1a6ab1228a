"""Shared fixtures live in tests/fixtures/, one module per area, loaded here.

Property tests run the same examples every time (a test run is a verdict on the code, not a
lottery); `HYPOTHESIS_PROFILE=explore` draws fresh random examples, many more, to hunt for new
cases. Whatever exploring finds is kept as a named example test.
"""

import os

from hypothesis import settings

settings.register_profile("repeatable", max_examples=150, derandomize=True, print_blob=True)
settings.register_profile("explore", max_examples=1500, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))

pytest_plugins = ["tests.fixtures.store", "tests.fixtures.mail"]
