"""Cluster check units and the runner that walks them (see `base.py` for the interface)."""
