"""The fleet's round-robin TCP balancer: each new connection goes to the next server, a
server that refuses is skipped, everything refusing closes the client's connection, and a
stopped balancer listens nowhere."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from vcpsdk.testing.fleet import RoundRobinBalancer, listening_sockets
from vcpsdk.testing.network import free_port


class _Named(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = str(self.server.server_address[1]).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def servers() -> Iterator[list[ThreadingHTTPServer]]:
    """Three HTTP servers on 127.0.0.1 that answer with their own port."""
    running = [ThreadingHTTPServer(("127.0.0.1", 0), _Named) for _ in range(3)]
    for server in running:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    yield running
    for server in running:
        server.shutdown()
        server.server_close()


def fetch(port: int) -> int:
    """One request on a new connection: the port of the server that answered."""
    with requests.Session() as session:
        return int(session.get(f"http://127.0.0.1:{port}/", timeout=10).text)


def test_each_connection_goes_to_the_next_server(servers: list[ThreadingHTTPServer]) -> None:
    ports = [s.server_address[1] for s in servers]
    with RoundRobinBalancer(lambda: ports) as balancer:
        answers = [fetch(balancer.port) for _ in range(6)]
    assert sorted(answers) == sorted(ports * 2)
    assert answers[:3] == answers[3:]  # the same order every round
    assert dict(balancer.connections) == dict.fromkeys(ports, 2)


def test_a_refusing_server_is_skipped_and_all_refusing_closes(servers: list[ThreadingHTTPServer]) -> None:
    ports = [s.server_address[1] for s in servers]
    dead = free_port()
    targets = [dead, *ports]
    with RoundRobinBalancer(lambda: targets) as balancer:
        assert {fetch(balancer.port) for _ in range(6)} == set(ports)
        targets[:] = [dead]
        with pytest.raises(requests.ConnectionError):
            fetch(balancer.port)
        assert balancer.refused == 1
        port = balancer.port
        assert ("127.0.0.1", port) in listening_sockets()
    assert ("127.0.0.1", port) not in listening_sockets()
