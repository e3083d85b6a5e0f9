"""The package version, read by the build backend and stamped into every record."""

__version__ = "0.1.0"
