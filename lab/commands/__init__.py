"""Subcommands of the ``lab`` CLI; each module has ``register(subparsers)``."""
