"""The login throttle: failed attempts counted per account name and per client address.

In memory, per process, on purpose: a failed login writes nothing (10,000 wrong passwords leave
the database as it was), and several server processes each allow their own budget (so the
limit an attacker meets is at most the processes' count times this one; docs/service.md).
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict, deque
from datetime import timedelta

from workflow.clock import Clock, SystemClock
from workflow.errors import LoginThrottled

_NAME_KEPT = 256
"""A name is counted by its first characters (a megabyte name is one key, not a megabyte)."""


class LoginThrottle:
    """At most ``per_name`` failures for one account name, and ``per_client`` from one client
    address, within ``window``; past either, every attempt is refused (:class:`LoginThrottled`)
    until the oldest failure leaves the window. A success clears the name's count.

    Memory is bounded: at most ``max_keys`` names and addresses are tracked (the least recently
    failed forgotten first)."""

    def __init__(
        self,
        *,
        per_name: int = 5,
        per_client: int = 20,
        window: timedelta = timedelta(minutes=5),
        clock: Clock | None = None,
        max_keys: int = 10_000,
    ) -> None:
        self.per_name = per_name
        self.per_client = per_client
        self.window = window
        self.clock: Clock = clock or SystemClock()
        self.max_keys = max_keys
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, object]:
        """A copy sent to another process (a server worker) keeps the limits, and counts its
        own failures under a lock of its own."""
        state = {**self.__dict__, "_failures": OrderedDict()}
        del state["_lock"]
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def check(self, name: str, client: str | None) -> None:
        """Raise :class:`LoginThrottled` when either budget is spent (before any hashing)."""
        now = self._now()
        with self._lock:
            waits = [self._wait(key, limit, now) for key, limit in self._keys(name, client)]
        wait = max(waits, default=0.0)
        if wait > 0:
            raise LoginThrottled(max(1, math.ceil(wait)))

    def failed(self, name: str, client: str | None) -> None:
        now = self._now()
        with self._lock:
            for key, _ in self._keys(name, client):
                seen = self._failures.pop(key, None) or deque()
                seen.append(now)
                self._failures[key] = seen  # most recent last
            while len(self._failures) > self.max_keys:
                self._failures.popitem(last=False)

    def succeeded(self, name: str) -> None:
        with self._lock:
            self._failures.pop(f"name:{name[:_NAME_KEPT]}", None)

    def _keys(self, name: str, client: str | None) -> list[tuple[str, int]]:
        keys = [(f"name:{name[:_NAME_KEPT]}", self.per_name)]
        if client:
            keys.append((f"client:{client}", self.per_client))
        return keys

    def _wait(self, key: str, limit: int, now: float) -> float:
        seen = self._failures.get(key)
        if not seen:
            return 0.0
        span = self.window.total_seconds()
        while seen and seen[0] <= now - span:
            seen.popleft()
        if len(seen) < limit:
            return 0.0
        return seen[-limit] + span - now

    def _now(self) -> float:
        return self.clock.now().timestamp()
