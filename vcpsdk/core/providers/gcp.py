"""Google Cloud Platform (experimental in the original)."""

from vcpsdk.core.providers import Capabilities, Field, Provider, cloud_image, disks, ip_addresses

PROVIDER = Provider(
    name="gcp",
    unit_type="compute",
    version="1.0+20190408",
    cci_version="1.0",
    fields=(
        Field("machine_type", str, "f1-micro", doc="machine type, e.g. n1-standard-1"),
        Field("disk_size_gb", int, 40, minimum=1, doc="boot disk size (GB)"),
        Field(
            "disk_type",
            str,
            "pd-standard",
            choices=("pd-standard", "pd-ssd", "pd-balanced"),
            doc="boot disk type",
        ),
        disks("volume_id"),
        ip_addresses(),
        cloud_image(),
    ),
    capabilities=Capabilities(fixed_ip=True, attach_volume=True),
    config_section="gcp",
    credentials=("credentials",),
    secrets=("credentials",),
    description="Google Cloud",
)
