"""Compatibility module: ``from vcpsdk.plugins.abc import VcpSpecResourceAbc``."""

from vcpsdk.spec import SPEC_CLASSES

VcpSpecResourceAbc = SPEC_CLASSES["abc"]
