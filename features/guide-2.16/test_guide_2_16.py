"""The install guide's 2.16 edition (Parsec 2.x), section by section: one feature file per section."""

from pytest_bdd import scenarios

scenarios("guide-2.16")
