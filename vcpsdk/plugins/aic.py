"""Compatibility module: ``from vcpsdk.plugins.aic import VcpSpecResourceAic``."""

from vcpsdk.spec import SPEC_CLASSES

VcpSpecResourceAic = SPEC_CLASSES["aic"]
