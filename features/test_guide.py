"""The install guide, section by section: one feature file per section."""

from pytest_bdd import scenarios

scenarios(".")
