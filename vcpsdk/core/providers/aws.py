"""Amazon EC2 on-demand instances."""

from vcpsdk.core.providers import (
    AWS_VOLUME_TYPES,
    Capabilities,
    Field,
    Provider,
    cloud_image,
    disks,
    ip_addresses,
)

AWS_CAPABILITIES = Capabilities(fixed_ip=True, attach_volume=True, tag=True, disk_api=True, power_api=True)


def aws_instance_fields() -> tuple[Field, ...]:
    """Fields shared by ``aws`` and ``aws_spot``."""
    return (
        Field("instance_type", str, "m4.large", doc="EC2 instance type, e.g. m4.large"),
        Field("volume_size", int, 8, minimum=1, doc="root EBS volume size (GB)"),
        Field("volume_type", str, "gp2", choices=AWS_VOLUME_TYPES, doc="root EBS volume type"),
        cloud_image("AMI name (default: the VPN catalog's image)"),
        ip_addresses(),
        disks("volume_id"),
    )


PROVIDER = Provider(
    name="aws",
    unit_type="compute",
    version="1.2+20191001",
    cci_version="1.2",
    fields=aws_instance_fields(),
    capabilities=AWS_CAPABILITIES,
    config_section="aws",
    credentials=("access_key", "secret_key"),
    secrets=("access_key", "secret_key"),
    description="Amazon EC2",
)
