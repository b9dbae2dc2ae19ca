"""Microsoft Azure virtual machines."""

from vcpsdk.core.providers import (
    AZURE_DISK_TYPES,
    Capabilities,
    Field,
    Provider,
    cloud_image,
    disks,
    ip_addresses,
)

AZURE_CAPABILITIES = Capabilities(fixed_ip=True, attach_volume=True, tag=True, disk_api=True, power_api=True)
AZURE_CREDENTIALS = ("subscription_id", "client_id", "client_secret", "tenant_id")

PROVIDER = Provider(
    name="azure",
    unit_type="compute",
    version="1.2+20191001",
    cci_version="1.2",
    fields=(
        Field("vm_size", str, "Standard_B1s", doc="VM size, e.g. Standard_B1s"),
        Field("disk_size_gb", int, 40, minimum=1, doc="OS disk size (GB)"),
        Field("managed_disk_type", str, "Standard_LRS", choices=AZURE_DISK_TYPES, doc="OS managed disk type"),
        disks("ext_managed_disk"),
        cloud_image("VM image name"),
        ip_addresses(),
    ),
    capabilities=AZURE_CAPABILITIES,
    config_section="azure",
    credentials=AZURE_CREDENTIALS,
    secrets=("client_secret",),
    description="Microsoft Azure",
)
