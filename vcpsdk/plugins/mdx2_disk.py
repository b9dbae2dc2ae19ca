"""Compatibility module: ``from vcpsdk.plugins.mdx2_disk import VcpSpecResourceMdx2Disk``."""

from vcpsdk.spec import SPEC_CLASSES

VcpSpecResourceMdx2Disk = SPEC_CLASSES["mdx2_disk"]
