"""mdx II virtual machines."""

from vcpsdk.core.providers import Capabilities, Field, Provider, cloud_image, disks, ip_addresses

MDX_VOLUME_TYPES = ("project-volume", "tripleo")

PROVIDER = Provider(
    name="mdx2",
    unit_type="compute",
    version="1.0+20251001",
    cci_version="1.0",
    fields=(
        Field("flavor_name", str, "vc1m2g", doc="mdx flavor, e.g. vc1m2g"),
        Field("volume_size", int, 40, minimum=1, doc="root volume size (GB)"),
        Field("volume_type", str, "project-volume", choices=MDX_VOLUME_TYPES, doc="root volume type"),
        cloud_image("image UUID"),
        disks("volume_id"),
        ip_addresses(),
    ),
    capabilities=Capabilities(fixed_ip=True, attach_volume=True, tag=True, disk_api=True),
    config_section="mdx2",
    credentials=("user_name", "password"),
    secrets=("password",),
    description="mdx II",
)
