"""Compatibility module: ``from vcpsdk.plugins.onpremises import VcpSpecResourceOnpremises``."""

from vcpsdk.spec import SPEC_CLASSES

VcpSpecResourceOnpremises = SPEC_CLASSES["onpremises"]
