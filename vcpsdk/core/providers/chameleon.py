"""Chameleon Cloud bare-metal nodes."""

from vcpsdk.core.providers import Capabilities, Field, Provider, cloud_image, ip_addresses

PROVIDER = Provider(
    name="chameleon",
    unit_type="compute",
    version="1.0+20200831",
    cci_version="1.0",
    fields=(
        Field("reservation", str, "", doc="reservation id from the host lease"),
        cloud_image("image name, e.g. CC-Ubuntu18.04"),
        ip_addresses(),
    ),
    capabilities=Capabilities(),
    config_section="chameleon",
    credentials=("application_credential_id", "application_credential_secret"),
    secrets=("application_credential_secret",),
    description="Chameleon Cloud",
)
