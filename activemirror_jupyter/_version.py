"""The package version (read by hatchling for the wheel, and by ``--version``)."""

__version__ = "0.2.0"
