"""The original import path of the Chameleon Cloud extensions: :mod:`vcpsdk.extensions.chameleon`.

Every public name is re-exported; the tunables (``WAIT_INTERVAL_SEC``,
``WAIT_TIMEOUT_SEC``, ``REQUEST_TIMEOUT_SEC``) are read at call time, so
``chameleon_ext.WAIT_TIMEOUT_SEC = 60`` works as before.
"""

from __future__ import annotations

from vcpsdk.extensions import chameleon as _chameleon
from vcpsdk.extensions._tunables import forward_tunables
from vcpsdk.extensions.chameleon import *  # noqa: F403 - the public names, listed in __all__
from vcpsdk.extensions.chameleon import settings

__all__ = list(_chameleon.__all__)
forward_tunables(__name__, settings)
