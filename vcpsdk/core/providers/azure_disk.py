"""Azure managed disks (storage units)."""

from vcpsdk.core.providers import AZURE_DISK_TYPES, Capabilities, Field, Provider, cloud_image
from vcpsdk.core.providers.azure import AZURE_CREDENTIALS

PROVIDER = Provider(
    name="azure_disk",
    unit_type="storage",
    version="1.0+20190408",
    cci_version="1.0",
    fields=(
        Field("storage_account_type", str, "Standard_LRS", choices=AZURE_DISK_TYPES, doc="managed disk type"),
        Field("disk_size_gb", int, 8, minimum=1, doc="disk size (GB)"),
        cloud_image("image or snapshot to create the disk from"),
    ),
    capabilities=Capabilities(tag=True, disk_api=True),
    config_section="azure",
    credentials=AZURE_CREDENTIALS,
    secrets=("client_secret",),
    description="Azure managed disks",
)
