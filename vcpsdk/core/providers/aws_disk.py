"""Amazon EBS volumes (storage units)."""

from vcpsdk.core.providers import AWS_VOLUME_TYPES, Capabilities, Field, Provider, cloud_image

PROVIDER = Provider(
    name="aws_disk",
    unit_type="storage",
    version="1.0+20190408",
    cci_version="1.0",
    fields=(
        Field("size", int, 8, minimum=1, doc="volume size (GB)"),
        Field("type", str, "standard", choices=AWS_VOLUME_TYPES, doc="EBS volume type"),
        cloud_image("snapshot to create the volume from"),
    ),
    capabilities=Capabilities(tag=True, disk_api=True),
    config_section="aws",
    credentials=("access_key", "secret_key"),
    secrets=("access_key", "secret_key"),
    description="Amazon EBS volumes",
)
