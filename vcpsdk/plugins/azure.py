"""Compatibility module: ``from vcpsdk.plugins.azure import VcpSpecResourceAzure``."""

from vcpsdk.spec import SPEC_CLASSES

VcpSpecResourceAzure = SPEC_CLASSES["azure"]
