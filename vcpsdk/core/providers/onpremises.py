"""Existing servers added as nodes ("SSH mode")."""

from vcpsdk.core.providers import Capabilities, Field, Provider, ip_addresses

PROVIDER = Provider(
    name="onpremises",
    unit_type="compute",
    version="1.0+20190408",
    cci_version="1.0",
    fields=(
        Field("flavor_name", str, "dummy", doc="unused (flavor file placeholder)"),
        ip_addresses(),
        Field("network_if", str, "", doc="network interface of the server, e.g. eth9"),
        Field("user_name", str, "", doc="SSH login user on the server, e.g. ubuntu"),
    ),
    capabilities=Capabilities(fixed_ip=True),
    config_section="onpremises",
    description="existing on-premises servers",
)
