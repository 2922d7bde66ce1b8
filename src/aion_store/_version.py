"""The single source of the package version (read by setuptools and by ``aion_store``)."""

__version__ = "0.1.0"
