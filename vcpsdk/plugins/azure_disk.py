"""Compatibility module: ``from vcpsdk.plugins.azure_disk import VcpSpecResourceAzureDisk``."""

from vcpsdk.spec import SPEC_CLASSES

VcpSpecResourceAzureDisk = SPEC_CLASSES["azure_disk"]
