"""The one error tree of every backend.

A backend raises :class:`BackendError` (or a subclass) with a message that is shown to
the user as the unit's ``error_message``.  Cloud backends raise a :class:`CloudError`
of the kind that fits, so that the controller, the retry helper and the users can tell
a lack of capacity from a quota, a credential problem, a bad parameter, throttling or a
resource that is gone, whatever the cloud::

    BackendError
    ├── CloudError                (code, provider, retryable)
    │   ├── CloudCapacityError    no capacity now (another type or zone may have)
    │   ├── CloudQuotaError       an account limit would be exceeded
    │   ├── CloudAuthError        credentials missing, wrong or not allowed
    │   ├── CloudInvalidParameter the cloud refused a parameter
    │   │   └── CloudNotFoundError  the resource operated on does not exist (any more)
    │   ├── CloudThrottlingError  too many requests (retryable)
    │   └── CloudTimeoutError     the cloud did not reach the wanted state in time
    InvalidRequest (ValueError)   the request can never succeed (checked before any call)

Each cloud maps its own error codes onto the tree with a :class:`CodeTable`.

Example::

    table = CodeTable("aws", exact={"RequestLimitExceeded": CloudThrottlingError},
                      patterns=[(r".*LimitExceeded", CloudQuotaError)])
    error = table.error("VcpuLimitExceeded", "You have requested more vCPU capacity...")
    assert isinstance(error, CloudQuotaError) and not error.retryable
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

#: longest cloud message kept in an error (cloud messages can embed whole documents)
MAX_MESSAGE = 2000
#: what a secret value is replaced with in a message
MASK = "***"


class BackendError(Exception):
    """A backend operation failed; ``str(error)`` is shown to the user."""


class InvalidRequest(ValueError):
    """The request can never succeed (bad address, unknown catalog entry...)."""


def clean_message(text: object, secrets: Iterable[str] = ()) -> str:
    """``text`` fit for a user and a log: secrets masked, whitespace folded, length capped.

    Args:
        text: the cloud's message (any object; ``str()`` is taken).
        secrets: values that must not appear (credentials of the call); values shorter
            than four characters are ignored (they would mask ordinary words).

    Returns:
        The cleaned message.

    Example::

        >>> clean_message("key  AKIA123 refused\\n", ["AKIA123"])
        'key *** refused'
    """
    message = " ".join(str(text).split())
    # a multi-line secret (a PEM key) appears folded like the message, or one line of it
    folded = {" ".join(s.split()) for s in secrets if s}
    folded |= {
        line.strip() for s in secrets if s and "\n" in s for line in s.splitlines() if len(line.strip()) >= 16
    }
    for secret in sorted({s for s in folded if len(s) >= 4}, key=len, reverse=True):
        message = message.replace(secret, MASK)
    if len(message) > MAX_MESSAGE:
        message = message[: MAX_MESSAGE - 3] + "..."
    return message


class CloudError(BackendError):
    """A cloud refused or failed an operation.

    ``str(error)`` is ``"<code>: <message>"`` (just the message without a code).

    Attributes:
        code: the cloud's own error code (``"InsufficientInstanceCapacity"``), or "".
        message: the cloud's message, cleaned by :func:`clean_message`.
        provider: the cloud (``"aws"``), or "".
        retryable: the same call may succeed if it is simply sent again later.
    """

    #: the default of ``retryable`` for errors of this class
    default_retryable = False

    def __init__(
        self,
        message: str,
        *,
        code: str = "",
        provider: str = "",
        retryable: bool | None = None,
        secrets: Iterable[str] = (),
    ) -> None:
        self.code = str(code)
        self.message = clean_message(message, secrets)
        self.provider = str(provider)
        self.retryable = self.default_retryable if retryable is None else bool(retryable)
        super().__init__(f"{self.code}: {self.message}" if self.code else self.message)


class CloudCapacityError(CloudError):
    """The cloud has no capacity for the request now (another type or zone may have)."""


class CloudQuotaError(CloudError):
    """An account limit (instances, vCPUs, volumes...) would be exceeded."""


class CloudAuthError(CloudError):
    """The credentials are missing, wrong, or not allowed to do this."""


class CloudInvalidParameter(CloudError):
    """The cloud refused a parameter (image, network, instance type, address...)."""


class CloudNotFoundError(CloudInvalidParameter):
    """The resource operated on (instance, volume...) does not exist (any more)."""


class CloudThrottlingError(CloudError):
    """The cloud throttled the requests (sending fewer, later, succeeds)."""

    default_retryable = True


class CloudTimeoutError(CloudError):
    """The cloud did not reach the wanted state within the backend's wait timeout."""


@dataclass(frozen=True)
class CodeTable:
    """One cloud's error codes mapped onto the tree.

    Args:
        provider: the cloud's name, put on every error.
        exact: ``{code: class}``, looked up first.
        patterns: ``[(regular expression, class)]`` tried in order (full match) when
            the code is not in ``exact``.
        default: the class of every other code.
        retryable: codes that are worth sending again even though their class is not
            retryable by default (e.g. an internal error of the cloud).
    """

    provider: str
    exact: Mapping[str, type[CloudError]] = field(default_factory=dict)
    patterns: Sequence[tuple[str, type[CloudError]]] = ()
    default: type[CloudError] = CloudError
    retryable: frozenset[str] = frozenset()

    def error_class(self, code: str) -> type[CloudError]:
        """The class of the tree for the cloud error ``code``."""
        if code in self.exact:
            return self.exact[code]
        for pattern, kind in self.patterns:
            if re.fullmatch(pattern, code):
                return kind
        return self.default

    def error(self, code: str, message: str, *, secrets: Iterable[str] = ()) -> CloudError:
        """The typed error of ``code`` with the cloud's ``message`` (secrets masked).

        Example::

            >>> CodeTable("demo").error("Boom", "it broke").retryable
            False
        """
        return self.error_class(code)(
            message,
            code=code,
            provider=self.provider,
            retryable=True if code in self.retryable else None,
            secrets=secrets,
        )


@contextlib.contextmanager
def translating(
    mapper: Callable[[BaseException, tuple[str, ...]], BackendError | None],
    cleanup: Callable[[], None] | None = None,
    secrets: tuple[str, ...] = (),
) -> Iterator[None]:
    """Run the block; on an error run ``cleanup`` and raise ``mapper``'s typed error.

    Errors ``mapper`` does not know (it returns None: our own bugs, a crash) are re-raised
    unchanged (after ``cleanup``).

    Args:
        mapper: a cloud's SDK error → typed error (with ``secrets`` masked), or None.
        cleanup: removes what the block created.
        secrets: credentials of the calls.

    Example::

        with translating(map_error, cleanup=lambda: remove(created)):
            created += create()
    """
    try:
        yield
    except Exception as e:
        if cleanup is not None:
            cleanup()
        mapped = mapper(e, secrets)
        if mapped is None:
            raise
        raise mapped from e


def masked_text(
    mapper: Callable[[BaseException, tuple[str, ...]], BackendError | None],
    error: BaseException,
    secrets: tuple[str, ...] = (),
) -> str:
    """What a log may show of ``error`` (e.g. a cleanup's failure, logged and not raised):
    ``mapper``'s typed error, else the error's type and text, with ``secrets`` masked.

    Example::

        logger.warning("cleanup failed: %s", masked_text(map_error, e, secrets))
    """
    mapped = mapper(error, secrets)
    return clean_message(mapped if mapped is not None else f"{type(error).__name__}: {error}", secrets)


def _repeats_a_secret(error: BaseException, secrets: Iterable[str]) -> bool:
    """Whether the text of ``error`` or of an error it was raised from repeats a secret."""
    wanted = [s for s in secrets if s and len(s) >= 4]
    seen: BaseException | None = error
    for _ in range(10):  # a chain, never a loop
        if seen is None:
            return False
        text = f"{seen}\n{seen!r}"
        if any(secret in text for secret in wanted):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


@contextlib.contextmanager
def unchained_if_secret(secrets: Iterable[str]) -> Iterator[None]:
    """Run the block; a :class:`BackendError` raised from an error whose text repeats one of
    ``secrets`` loses that cause: a traceback logged later (``logger.exception``) would print
    the cause unmasked.  Put it around :func:`translating` (the typed error's own message is
    masked already).

    Example::

        with unchained_if_secret(secrets), translating(map_error, drop, secrets):
            create()
    """
    try:
        yield
    except BackendError as e:
        if e.__cause__ is not None and _repeats_a_secret(e.__cause__, secrets):
            e.__cause__ = None
            e.__suppress_context__ = True
        raise


def ignore_missing(call: Callable[[], object], missing: Callable[[BaseException], bool]) -> None:
    """``call()``; an error ``missing`` says means "it does not exist (any more)" is fine (a
    delete of something already gone).

    Example::

        ignore_missing(lambda: client.delete_disk(disk_id), lambda e: getattr(e, "not_found", False))
    """
    try:
        call()
    except Exception as e:
        if not missing(e):
            raise
