"""Oracle Cloud block volumes (storage units)."""

from vcpsdk.core.providers import Capabilities, Field, Provider, cloud_image
from vcpsdk.core.providers.oracle import ORACLE_CREDENTIALS

PROVIDER = Provider(
    name="oracle_disk",
    unit_type="storage",
    version="1.0+20200331",
    cci_version="1.0",
    fields=(
        Field("size_in_gbs", int, 50, minimum=1, doc="volume size (GB)"),
        cloud_image("OCID of a volume to copy from"),
    ),
    capabilities=Capabilities(tag=True, disk_api=True),
    config_section="oracle",
    credentials=ORACLE_CREDENTIALS,
    secrets=("private_key",),
    description="Oracle Cloud block volumes",
)
