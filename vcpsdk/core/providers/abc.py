"""ABC compute nodes."""

from vcpsdk.core.providers import Capabilities, Field, Provider, cloud_image, ip_addresses

PROVIDER = Provider(
    name="abc",
    unit_type="compute",
    version="1.3+20190408",
    cci_version="1.3",
    fields=(
        Field("flavor_name", str, "cn000", doc="environment flavor, e.g. cn000"),
        ip_addresses(),
        cloud_image(),
    ),
    capabilities=Capabilities(fixed_ip=True),
    config_section="abc",
    credentials=("user_name", "password"),
    secrets=("password",),
    description="ABC",
)
