"""The v3.9.3 deployment guide (Parsec 3.x), section by section: one feature file per section."""

from pytest_bdd import scenarios

scenarios("guide-3.9")
