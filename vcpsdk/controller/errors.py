"""Refusals of the VC Controller and the caller they are answered to.

Every message keeps the original controller's shape: ``<date> UTC: <ExceptionClass>:
<detail>``.  Kept apart from ``service.py`` so that the vault, auth and the app use
them without importing the service.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from vcpsdk.core.protocol import AUTH_EXC, CONFLICT_EXC, INVALID_EXC, NOT_FOUND_EXC

__all__ = [
    "AUTH_EXC",
    "CONFLICT_EXC",
    "INVALID_EXC",
    "NOT_FOUND_EXC",
    "ServiceError",
    "User",
    "conflict",
    "invalid",
    "not_found",
]


class ServiceError(Exception):
    """A refused request: HTTP status, original exception class name and detail."""

    def __init__(self, status: int, exception: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.exception = exception
        self.detail = detail

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


@dataclass(frozen=True)
class User:
    """The caller, as identified by its token."""

    name: str
    superuser: bool
    privileged: bool = False
    token_hash: str = ""
    token_shown: str = ""  # the prefix messages may show, as the original controller does
