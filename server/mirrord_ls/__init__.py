"""mirrord-ls: a language server for mirrord config files."""

__version__ = "0.1.0"
