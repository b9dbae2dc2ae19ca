"""Oracle Cloud Infrastructure compute instances."""

from vcpsdk.core.providers import Capabilities, Field, Provider, cloud_image, disks, ip_addresses

ORACLE_CREDENTIALS = ("user_ocid", "fingerprint", "private_key")

PROVIDER = Provider(
    name="oracle",
    unit_type="compute",
    version="1.0+20200331",
    cci_version="1.0",
    fields=(
        Field("shape", str, "VM.Standard.E2.1", doc="instance shape"),
        Field("boot_volume_size_in_gbs", int, 50, minimum=1, doc="boot volume size (GB)"),
        disks("volume_id"),
        ip_addresses(),
        cloud_image("image name"),
    ),
    capabilities=Capabilities(fixed_ip=True, attach_volume=True, tag=True, disk_api=True, power_api=True),
    config_section="oracle",
    credentials=ORACLE_CREDENTIALS,
    secrets=("private_key",),
    description="Oracle Cloud Infrastructure",
)
