"""Open VCP SDK: build multi-cloud environments from notebooks.

Users import the API from :mod:`vcpsdk.vcpsdk` (``from vcpsdk.vcpsdk import VcpSDK``),
exactly as with NII's original SDK.
"""

import logging as _logging

__version__ = "26.11.0"
BUILD_DATE = "20261121"
VCP_SDK_VERSION = f"{__version__}+{BUILD_DATE}"

# a library prints no log records unless the user configured logging
_logging.getLogger("vcp.sdk").addHandler(_logging.NullHandler())

from vcpsdk import _ipython  # noqa: E402  (short errors in IPython/Jupyter; nothing elsewhere)

_ipython.install()
