"""Compatibility module: ``from vcpsdk.plugins.chameleon import VcpSpecResourceChameleon``."""

from vcpsdk.spec import SPEC_CLASSES

VcpSpecResourceChameleon = SPEC_CLASSES["chameleon"]
