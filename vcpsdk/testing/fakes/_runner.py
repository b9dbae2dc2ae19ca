"""What the fakes share: error answers, request records, and serving one in a thread for a
``with`` block or by hand."""

from __future__ import annotations

import argparse
import json
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from fastapi import Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from vcpsdk.controller.server import bind_socket, make_server
from vcpsdk.testing.serving import LoopbackServer, serving


class HttpError(Exception):
    """An error answer of a fake: HTTP status, body (JSON, or text for a ``str``) and any
    extra response headers (e.g. ``Retry-After``)."""

    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(status, body)
        self.status = status
        self.body = body
        self.headers = headers or {}


def error_answer(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    """The answer ``status`` with ``body`` (text for a ``str``, else JSON) and ``headers``."""
    if isinstance(body, str):
        return PlainTextResponse(body, status_code=status, headers=headers)
    return JSONResponse(body, status_code=status, headers=headers)


def answer(result: Any, status: int) -> Response:
    """A success answer: empty for 204, else ``result`` as JSON."""
    if status == 204:
        return Response(status_code=204)
    return JSONResponse(result, status_code=status)


def record(request: Request, raw: bytes, **extra: Any) -> dict[str, Any]:
    """What a fake keeps of a request: method, path, query, ``extra`` and the body text."""
    return {
        "method": request.method,
        "path": request.url.path,
        "query": dict(request.query_params),
        **extra,
        "body": raw.decode(errors="replace"),
    }


def parse_json(raw: bytes, error_body: Any) -> Any:
    """The JSON of a request body (``None`` when empty); else :class:`HttpError` 400 ``error_body``."""
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        raise HttpError(400, error_body) from None


class Served(Protocol):
    """What :func:`route` needs of a fake: a lock and the list of requests it records."""

    lock: threading.RLock
    requests: list[dict[str, Any]]


def route(
    fake: Served,
    call: Callable[[Request, bytes], Any],
    status: int,
    extra: Callable[[Request], dict[str, Any]],
) -> Callable[[Request], Awaitable[Response]]:
    """An ASGI route of a fake: record the request (plus ``extra(request)``), then, under the
    fake's lock, answer ``call(request, body)`` with ``status`` (a :class:`Response` as it is),
    or its :class:`HttpError`."""

    async def serve(request: Request) -> Response:
        raw = await request.body()
        with fake.lock:
            fake.requests.append(record(request, raw, **extra(request)))
            try:
                result = call(request, raw)
            except HttpError as e:
                return error_answer(e.status, e.body, e.headers)
        return result if isinstance(result, Response) else answer(result, status)

    return serve


class Fake(Protocol):
    """A fake API's state; ``base_url`` is where it is served (it may appear in answers)."""

    base_url: str


F = TypeVar("F", bound=Fake)


@dataclass
class RunningFake(LoopbackServer, Generic[F]):
    """A fake serving on 127.0.0.1 in a background thread (yielded by ``running_fake_*``)."""

    fake: F

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return self.origin

    @property
    def endpoint(self) -> str:
        """``http://127.0.0.1:<port>``, e.g. the ``endpoint`` argument of ``MdxResourceExt``."""
        return self.base_url

    @property
    def auth_url(self) -> str:
        """``http://127.0.0.1:<port>/v3``, e.g. the value for ``chameleon.auth_url``."""
        return f"{self.base_url}/v3"


@contextmanager
def running(fake: F, create_app: Callable[[F], Any], what: str) -> Iterator[RunningFake[F]]:
    """Serve ``create_app(fake)`` on a free 127.0.0.1 port for the ``with`` block.

    Example::

        with running(FakeMdx(), create_app, "fake mdx server") as server:
            print(server.endpoint)
    """
    with serving(create_app(fake), what) as (port, server):
        fake.base_url = f"http://127.0.0.1:{port}"  # read per request (e.g. a service catalog)
        yield RunningFake(port=port, server=server, fake=fake)


def serve_forever(fake: F, create_app: Callable[[F], Any], port: int) -> None:  # pragma: no cover
    """Serve ``create_app(fake)`` on 127.0.0.1:``port`` until interrupted (``python -m ...``)."""
    fake.base_url = f"http://127.0.0.1:{port}"
    make_server(create_app(fake), log_level="info").run(sockets=[bind_socket("127.0.0.1", port)])


def main(
    doc: str | None,
    port: int,
    make_fake: Callable[..., F],
    create_app: Callable[[F], Any],
    describe: Callable[[F, int], str],
    **int_options: int,
) -> None:  # pragma: no cover - manual use
    """``python -m vcpsdk.testing.fakes.<name>``: parse ``--port`` and the fake's integer
    knobs (``deploy_polls=2`` → ``--deploy-polls 2``), print ``describe(fake, port)``, serve."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0] if doc else None)
    parser.add_argument("--port", type=int, default=port)
    for name, default in int_options.items():
        parser.add_argument("--" + name.replace("_", "-"), type=int, default=default)
    args = parser.parse_args()
    fake = make_fake(**{name: getattr(args, name) for name in int_options})
    print(describe(fake, args.port), flush=True)
    serve_forever(fake, create_app, args.port)
