"""Compatibility module: ``from vcpsdk.plugins.aws import VcpSpecResourceAws``."""

from vcpsdk.spec import SPEC_CLASSES

VcpSpecResourceAws = SPEC_CLASSES["aws"]
