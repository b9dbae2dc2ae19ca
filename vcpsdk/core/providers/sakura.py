"""SAKURA Cloud servers."""

from vcpsdk.core.providers import Capabilities, Field, Provider, cloud_image, disks, ip_addresses

SAKURA_CREDENTIALS = ("sakura_token", "sakura_secret")
SAKURA_DISK_PLANS = ("ssd", "hdd")

PROVIDER = Provider(
    name="sakura",
    unit_type="compute",
    version="1.1+20191001",
    cci_version="1.1",
    fields=(
        Field("num_cores", int, 1, flavor_key="core", minimum=1, doc="number of CPU cores"),
        Field("memory", int, 1, minimum=1, doc="memory (GB)"),
        Field(
            "sakuracloud_disk_plan",
            str,
            "ssd",
            choices=SAKURA_DISK_PLANS,
            aliases=("disk_plan",),
            doc="root disk plan",
        ),
        Field("sakuracloud_disk_size", int, 20, minimum=1, doc="root disk size (GB)"),
        disks("volume_id"),
        ip_addresses(),
        cloud_image("archive name"),
    ),
    capabilities=Capabilities(fixed_ip=True, attach_volume=True, disk_api=True, power_api=True),
    config_section="sakura",
    credentials=SAKURA_CREDENTIALS,
    secrets=SAKURA_CREDENTIALS,
    description="SAKURA Cloud",
)
