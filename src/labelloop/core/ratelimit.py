"""A sliding-window limiter for failed sign-ins (pure: the caller passes the time)."""

from __future__ import annotations

from collections import defaultdict, deque
from datetime import datetime, timedelta


class FailureLimiter:
    """Allow at most ``limit`` failures per key within ``window_s`` seconds."""

    def __init__(self, limit: int = 5, window_s: float = 300.0):
        self.limit = limit
        self.window = timedelta(seconds=window_s)
        self._failures: dict[str, deque[datetime]] = defaultdict(deque)

    def _trim(self, key: str, now: datetime) -> deque[datetime]:
        q = self._failures[key]
        while q and now - q[0] >= self.window:
            q.popleft()
        return q

    def blocked(self, key: str, now: datetime) -> bool:
        return len(self._trim(key, now)) >= self.limit

    def fail(self, key: str, now: datetime) -> None:
        self._trim(key, now).append(now)

    def reset(self, key: str) -> None:
        self._failures.pop(key, None)
