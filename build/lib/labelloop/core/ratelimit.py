"""The sign-in limit's arithmetic (pure: the caller passes the time and the counts it read).

Failed sign-ins are counted per account and per client address over a sliding window; the counts live
in the database (``services.signin``) so every server process shares them and a restart keeps them.
An attempt is recorded *before* its password is checked, under a lock on its keys, so parallel tries
cannot all be checked before the first failure is counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class SignInLimits:
    window_s: int = 300
    per_account: int = 5
    per_address: int = 50

    def keys(self, username: str, address: str) -> list[tuple[str, int]]:
        """The counters one attempt is recorded under, each with its limit (sorted: locks taken in order)."""
        return sorted([(f"user:{username.lower()}"[:400], self.per_account), (f"addr:{address}"[:400], self.per_address)])

    def since(self, now: datetime) -> datetime:
        """Attempts at or after this moment count."""
        return now - timedelta(seconds=self.window_s)


def allowed(recorded: int, limit: int) -> bool:
    """``recorded`` attempts within the window, this one included: is this one checked?"""
    return recorded <= limit
