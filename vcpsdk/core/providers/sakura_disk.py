"""SAKURA Cloud disks (storage units)."""

from vcpsdk.core.providers import Capabilities, Field, Provider, cloud_image
from vcpsdk.core.providers.sakura import SAKURA_CREDENTIALS, SAKURA_DISK_PLANS

PROVIDER = Provider(
    name="sakura_disk",
    unit_type="storage",
    version="1.0+20190930",
    cci_version="1.0",
    fields=(
        Field(
            "sakuracloud_disk_plan",
            str,
            "ssd",
            choices=SAKURA_DISK_PLANS,
            aliases=("disk_plan",),
            doc="disk plan",
        ),
        Field("sakuracloud_disk_size", int, 20, minimum=1, doc="disk size (GB)"),
        cloud_image("archive image name, e.g. archive-001"),
    ),
    capabilities=Capabilities(disk_api=True),
    config_section="sakura",
    credentials=SAKURA_CREDENTIALS,
    secrets=SAKURA_CREDENTIALS,
    description="SAKURA Cloud disks",
)
