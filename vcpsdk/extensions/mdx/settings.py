"""Tunables of the mdx extension, read at call time.

Set them on :mod:`vcpsdk.plugins.mdx_ext` (or :mod:`vcpsdk.extensions.mdx`) like the
notebooks do: ``mdx_ext.SLEEP_TIME_SEC = 0``; the change reaches this module.
"""

from __future__ import annotations

#: The mdx REST API (and user portal) the client talks to unless told otherwise.
DEFAULT_MDX_ENDPOINT = "https://oprpl.mdx.jp"
#: Seconds between two polls of a wait loop (read at call time).
SLEEP_TIME_SEC: float = 5
#: Polls of a power operation or a destroy before giving up (read at call time).
SLEEP_COUNT: int = 120
#: Polls of ``deploy_vm(wait_for=True)`` before giving up (read at call time).
DEPLOY_VM_SLEEP_COUNT: int = 240
#: VM states from which ``destroy_vm`` is allowed.
DELETABLE_STATES: tuple[str, ...] = ("PowerOFF", "Deallocated")
#: Items asked for per page of a paginated list (``page_size`` query parameter).
PAGE_SIZE: int = 100
#: Seconds one HTTP request may take (connect and read).
REQUEST_TIMEOUT_SEC: float = 60

#: the names above that a caller may change (forwarded from the public modules)
TUNABLES = frozenset(
    {
        "SLEEP_TIME_SEC",
        "SLEEP_COUNT",
        "DEPLOY_VM_SLEEP_COUNT",
        "DELETABLE_STATES",
        "PAGE_SIZE",
        "REQUEST_TIMEOUT_SEC",
    }
)
