"""Shared fixtures live in tests/fixtures/, one module per area, loaded here."""

pytest_plugins = ["tests.fixtures.store", "tests.fixtures.mail"]
