"""Compatibility module: ``from vcpsdk.plugins.oracle_disk import VcpSpecResourceOracleDisk``."""

from vcpsdk.spec import SPEC_CLASSES

VcpSpecResourceOracleDisk = SPEC_CLASSES["oracle_disk"]
