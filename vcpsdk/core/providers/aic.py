"""AIC compute nodes."""

from vcpsdk.core.providers import Capabilities, Field, Provider, cloud_image, ip_addresses

PROVIDER = Provider(
    name="aic",
    unit_type="compute",
    version="1.2+20191001",
    cci_version="1.2",
    fields=(
        Field("flavor_name", str, "cn000", doc="environment flavor, e.g. cn000"),
        ip_addresses(),
        cloud_image(),
    ),
    capabilities=Capabilities(fixed_ip=True),
    config_section="aic",
    credentials=("user_name", "password"),
    secrets=("password",),
    description="AIC",
)
