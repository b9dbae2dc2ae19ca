"""Amazon EC2 spot instances."""

from vcpsdk.core.providers import Capabilities, Field, Provider
from vcpsdk.core.providers.aws import aws_instance_fields

PROVIDER = Provider(
    name="aws_spot",
    unit_type="compute",
    version="1.1+20191001",
    cci_version="1.1",
    fields=(
        *aws_instance_fields(),
        Field(
            "spot_type",
            str,
            "one-time",
            choices=("one-time", "persistent"),
            doc="one-time: node ends with the capacity; persistent: node pauses",
        ),
        Field("spot_price", str, "", doc="maximum price in USD per hour, e.g. '0.5'"),
        Field(
            "block_duration_minutes",
            int,
            0,
            choices=(0, 60, 120, 180, 240, 300, 360),
            doc="spot block length in minutes (0 = none)",
        ),
    ),
    # the §2.2 table marks Tag ×, but §2.3 documents set_tag as tagging the spot request
    capabilities=Capabilities(fixed_ip=True, attach_volume=True, tag=True, disk_api=True),
    config_section="aws",
    credentials=("access_key", "secret_key"),
    secrets=("access_key", "secret_key"),
    description="Amazon EC2 spot instances",
)
