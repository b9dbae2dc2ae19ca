"""Compatibility module: ``from vcpsdk.plugins.hokudai import VcpSpecResourceHokudai``."""

from vcpsdk.spec import SPEC_CLASSES

VcpSpecResourceHokudai = SPEC_CLASSES["hokudai"]
