"""Compatibility module: ``from vcpsdk.plugins.gcp import VcpSpecResourceGcp``."""

from vcpsdk.spec import SPEC_CLASSES

VcpSpecResourceGcp = SPEC_CLASSES["gcp"]
