"""Compatibility module: ``from vcpsdk.plugins.mdx2 import VcpSpecResourceMdx2``."""

from vcpsdk.spec import SPEC_CLASSES

VcpSpecResourceMdx2 = SPEC_CLASSES["mdx2"]
