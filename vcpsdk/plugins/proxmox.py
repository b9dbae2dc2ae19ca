"""Compatibility module: ``from vcpsdk.plugins.proxmox import VcpSpecResourceProxmox``."""

from vcpsdk.spec import SPEC_CLASSES

VcpSpecResourceProxmox = SPEC_CLASSES["proxmox"]
