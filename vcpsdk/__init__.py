"""Open VCP SDK: build multi-cloud environments from notebooks.

Users import the API from :mod:`vcpsdk.vcpsdk` (``from vcpsdk.vcpsdk import VcpSDK``),
exactly as with NII's original SDK.
"""

__version__ = "26.11.0"
BUILD_DATE = "20261121"
VCP_SDK_VERSION = f"{__version__}+{BUILD_DATE}"
