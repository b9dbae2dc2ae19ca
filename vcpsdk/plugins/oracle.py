"""Compatibility module: ``from vcpsdk.plugins.oracle import VcpSpecResourceOracle``."""

from vcpsdk.spec import SPEC_CLASSES

VcpSpecResourceOracle = SPEC_CLASSES["oracle"]
