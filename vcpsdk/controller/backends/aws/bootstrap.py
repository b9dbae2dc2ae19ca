"""The node bootstrap on EC2: the toolkit's script, with the instance metadata service.

A booting instance reads its private address (``local-ipv4``) and its node id (the
instance tag ``vcp:node_id``, set right after the launch; instance metadata tags are
enabled at launch) from IMDSv2, so the N instances of one batched launch share one
identical script.
"""

from __future__ import annotations

from vcpsdk.controller.backends.base import NodeRequest, UnitContext
from vcpsdk.controller.backends.toolkit import bootstrap

#: IMDSv2 (with a fallback to IMDSv1) as the shell function ``imds PATH``
IMDS = """\
imds() {
  t=$(curl -sf -m 2 -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 300' \\
      http://169.254.169.254/latest/api/token) || t=''
  if [ -n "$t" ]; then
    curl -sf -m 2 -H "X-aws-ec2-metadata-token: $t" "http://169.254.169.254/latest/meta-data/$1"
  else
    curl -sf -m 2 "http://169.254.169.254/latest/meta-data/$1"
  fi
}
"""

EC2_IDENTITY = bootstrap.NodeIdentity(
    cloud="AWS",
    helpers=IMDS,
    address="imds local-ipv4",
    node_id="imds tags/instance/vcp:node_id",
    node_id_note="the node id is the instance's vcp:node_id tag, set right after the launch",
)


def bootstrap_script(
    unit: UnitContext, node: NodeRequest, *, controller_id: str = "", controller_address: str = ""
) -> str:
    """The user data of an instance: the toolkit's bootstrap script on EC2.

    See :mod:`vcpsdk.controller.backends.toolkit.bootstrap`.  It carries
    ``AUTHORIZED_KEYS`` and every other ``params_e`` value: never log it.
    """
    return bootstrap.bootstrap_script(
        unit, node, EC2_IDENTITY, controller_id=controller_id, controller_address=controller_address
    )
