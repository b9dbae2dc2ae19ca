"""The AWS backend: ``aws``, ``aws_spot`` and ``aws_disk`` on Amazon EC2 through boto3.

* :mod:`.backend` — :class:`AwsBackend` (launches, power, disks, leftovers);
* :mod:`.errors` — EC2/botocore error codes mapped onto the toolkit's cloud-error tree;
* :mod:`.bootstrap` — the toolkit's bootstrap script with the EC2 instance metadata.

boto3 is imported when an :class:`AwsBackend` is built, not when this package is.
"""

from vcpsdk.controller.backends.aws.backend import NEEDS_BOTO3, TAG_NODE, AwsBackend
from vcpsdk.controller.backends.aws.bootstrap import bootstrap_script
from vcpsdk.controller.backends.aws.errors import error_class, map_error

__all__ = ["NEEDS_BOTO3", "TAG_NODE", "AwsBackend", "bootstrap_script", "error_class", "map_error"]
