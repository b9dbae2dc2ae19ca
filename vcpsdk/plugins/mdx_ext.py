"""The original import path of the mdx extension: :mod:`vcpsdk.extensions.mdx`.

Every public name is re-exported; the wait constants (``SLEEP_TIME_SEC``, ``SLEEP_COUNT``,
``DEPLOY_VM_SLEEP_COUNT``, ...) are read at call time, so ``mdx_ext.SLEEP_TIME_SEC = 0``
works as before.
"""

from __future__ import annotations

from vcpsdk.extensions import mdx as _mdx
from vcpsdk.extensions._tunables import forward_tunables
from vcpsdk.extensions.mdx import *  # noqa: F403 - the public names, listed in __all__
from vcpsdk.extensions.mdx import settings

__all__ = list(_mdx.__all__)
forward_tunables(__name__, settings)
