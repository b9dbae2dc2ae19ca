"""mdx II volumes (storage units)."""

from vcpsdk.core.providers import Capabilities, Field, Provider, cloud_image
from vcpsdk.core.providers.mdx2 import MDX_VOLUME_TYPES

PROVIDER = Provider(
    name="mdx2_disk",
    unit_type="storage",
    version="1.0+20251001",
    cci_version="1.0",
    fields=(
        Field("volume_size", int, 40, minimum=1, doc="volume size (GB)"),
        Field("volume_type", str, "project-volume", choices=MDX_VOLUME_TYPES, doc="volume type"),
        cloud_image("image UUID to copy from"),
    ),
    capabilities=Capabilities(disk_api=True),
    config_section="mdx2",
    credentials=("user_name", "password"),
    secrets=("password",),
    description="mdx II volumes",
)
