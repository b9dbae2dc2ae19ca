"""VMware vSphere virtual machines."""

from vcpsdk.core.providers import Capabilities, Field, Provider, cloud_image, ip_addresses, mac_addresses

PROVIDER = Provider(
    name="vmware",
    unit_type="compute",
    version="1.1+20191001",
    cci_version="1.1",
    fields=(
        Field("num_cpus", int, 1, minimum=1, doc="number of vCPUs"),
        Field("memory", int, 1024, minimum=1, doc="memory (MB)"),
        Field("disk_size", int, 40, minimum=1, doc="disk size (GB)"),
        cloud_image("template VM to clone"),
        ip_addresses(),
        mac_addresses(),
    ),
    capabilities=Capabilities(fixed_ip=True),
    config_section="vmware",
    credentials=("user", "password"),
    secrets=("password",),
    description="VMware vSphere",
)
