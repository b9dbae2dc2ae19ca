"""The toolkit every cloud backend is built from, one responsibility per module.

* :mod:`.errors` — the one cloud-error tree (capacity, quota, auth, invalid parameter,
  not found, throttling, timeout) and :class:`~.errors.CodeTable`, a cloud's codes → tree;
* :mod:`.ratelimit` — the client-side rate limit (a token bucket) of a backend's calls;
* :mod:`.retry` — retry with exponential backoff and jitter for retryable cloud errors
  (for clouds whose SDK has no retry mode of its own);
* :mod:`.waiting` — waiting for a batch of resources on :func:`vcpsdk.core.polling.poll`
  (for waits the cloud SDK has no waiter for);
* :mod:`.batches` — the items of one request worked on concurrently, bounded;
* :mod:`.bootstrap` — the node bootstrap script that starts the Base container;
* :mod:`.addresses` — address planning inside the private network;
* :mod:`.settings` — credentials and the VPN catalog of a backend section.

Nothing is imported here: each backend imports the modules it uses (``retry`` needs
tenacity, the others only the standard library).
"""
