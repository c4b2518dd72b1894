"""jtui: Jupyter on remote machines, from one terminal screen."""

__version__ = "0.1.0"
