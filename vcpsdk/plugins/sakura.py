"""Compatibility module: ``from vcpsdk.plugins.sakura import VcpSpecResourceSakura``."""

from vcpsdk.spec import SPEC_CLASSES

VcpSpecResourceSakura = SPEC_CLASSES["sakura"]
