"""Compatibility module: the spec base class of the original (``vcpsdk.plugins.spec``)."""

from vcpsdk.spec import VcpSpecResource

__all__ = ["VcpSpecResource"]
