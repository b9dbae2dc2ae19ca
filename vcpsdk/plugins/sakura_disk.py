"""Compatibility module: ``from vcpsdk.plugins.sakura_disk import VcpSpecResourceSakuraDisk``."""

from vcpsdk.spec import SPEC_CLASSES

VcpSpecResourceSakuraDisk = SPEC_CLASSES["sakura_disk"]
