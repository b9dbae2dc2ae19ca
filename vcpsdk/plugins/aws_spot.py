"""Compatibility module: ``from vcpsdk.plugins.aws_spot import VcpSpecResourceAwsSpot``."""

from vcpsdk.spec import SPEC_CLASSES

VcpSpecResourceAwsSpot = SPEC_CLASSES["aws_spot"]
