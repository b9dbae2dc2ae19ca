"""Compatibility module: ``from vcpsdk.plugins.vmware import VcpSpecResourceVmware``."""

from vcpsdk.spec import SPEC_CLASSES

VcpSpecResourceVmware = SPEC_CLASSES["vmware"]
