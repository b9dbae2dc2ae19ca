"""Hokkaido University High Performance Intercloud."""

from vcpsdk.core.providers import Capabilities, Field, Provider, cloud_image, ip_addresses

PROVIDER = Provider(
    name="hokudai",
    unit_type="compute",
    version="1.1+20191001",
    cci_version="1.1",
    fields=(
        Field("flavor_name", str, "1core-6GB", doc="flavor, e.g. 1core-6GB"),
        Field("volume_size", int, 50, minimum=50, doc="root volume size (GB, at least 50)"),
        ip_addresses(),
        cloud_image(),
    ),
    capabilities=Capabilities(fixed_ip=True),
    config_section="hokudai",
    credentials=("user_name", "password"),
    secrets=("password",),
    description="Hokkaido University intercloud",
)
