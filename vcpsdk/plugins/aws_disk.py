"""Compatibility module: ``from vcpsdk.plugins.aws_disk import VcpSpecResourceAwsDisk``."""

from vcpsdk.spec import SPEC_CLASSES

VcpSpecResourceAwsDisk = SPEC_CLASSES["aws_disk"]
