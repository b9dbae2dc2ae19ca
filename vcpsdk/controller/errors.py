"""Refusals of the VC Controller and the caller they are answered to.

Every message keeps the original controller's shape: ``<date> UTC: <ExceptionClass>:
<detail>``.  Kept apart from ``service.py`` so that the vault, auth and the app use
them without importing the service.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from vcpsdk.core.protocol import AUTH_EXC, CONFLICT_EXC, INVALID_EXC, NOT_FOUND_EXC, RATE_EXC

__all__ = [
    "AUTH_EXC",
    "CONFLICT_EXC",
    "INVALID_EXC",
    "NOT_FOUND_EXC",
    "RATE_EXC",
    "ServiceError",
    "User",
    "conflict",
    "invalid",
    "not_found",
    "over_limit",
    "too_large",
    "too_many_requests",
]


class ServiceError(Exception):
    """A refused request: HTTP status, original exception class name, detail and headers
    (``Retry-After`` of a 429)."""

    def __init__(
        self, status: int, exception: str, detail: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.exception = exception
        self.detail = detail
        self.headers = headers or {}

    @property
    def message(self) -> str:
        """The text sent as ``{"message": ...}``."""
        stamp = dt.datetime.now(dt.UTC).strftime("%Y/%m/%d %H:%M:%S")
        return f"{stamp} UTC: {self.exception}: {self.detail}"


def invalid(detail: str) -> ServiceError:
    """HTTP 400 with the controller's invalid-parameter exception."""
    return ServiceError(400, INVALID_EXC, detail)


def conflict(detail: str) -> ServiceError:
    """HTTP 409 with ``VCPStateConflictException``."""
    return ServiceError(409, CONFLICT_EXC, detail)


def not_found(detail: str) -> ServiceError:
    """HTTP 404."""
    return ServiceError(404, NOT_FOUND_EXC, detail)


def over_limit(what: str, limit: str, value: float) -> ServiceError:
    """HTTP 400 for a request over a configured limit, naming the limit and its value.

    Example:
        >>> over_limit("num_nodes=500", "max_nodes_per_request", 100).detail
        'num_nodes=500 is over the limit max_nodes_per_request=100'
    """
    return invalid(f"{what} is over the limit {limit}={value:g}")


def too_large(what: str, limit: str, value: int) -> ServiceError:
    """HTTP 413 for a body (or document) larger than the limit ``limit=value``."""
    return ServiceError(413, INVALID_EXC, f"{what} is larger than the limit {limit}={value}")


def too_many_requests(rate: float, burst: int, retry_after: float) -> ServiceError:
    """HTTP 429 with ``Retry-After`` (whole seconds, at least 1)."""
    return ServiceError(
        429,
        RATE_EXC,
        f"too many requests for this token: the limit is requests_per_second={rate:g} "
        f"(request_burst={burst}); retry after {retry_after:.1f} s",
        headers={"Retry-After": str(max(1, math.ceil(retry_after)))},
    )


@dataclass(frozen=True)
class User:
    """The caller, as identified by its token."""

    name: str
    superuser: bool
    privileged: bool = False
    token_hash: str = ""
    token_shown: str = ""  # the prefix messages may show, as the original controller does
