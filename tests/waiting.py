"""Waiting for something to happen, without sleeping for a fixed time and without a pass/fail deadline.

``wait_until(predicate)`` polls until the predicate returns something truthy and returns that value. Its
timeout is only a guard against a test hanging for ever when the condition will never come true (a crashed
server, a bug): make it generous, so that a slow or loaded machine is never a failure.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

GUARD_S = 120.0
"""The guard for any wait in a test (``Event.wait``, ``Popen.wait``, ``Future.result``): long enough that only a
hang reaches it."""


class WaitTimeout(AssertionError):
    """The condition never came true within the (generous) guard."""


def wait_until(predicate: Callable[[], T], *, timeout_s: float = GUARD_S, interval_s: float = 0.05,
               message: str | Callable[[], str] = "condition never came true") -> T:
    """Call ``predicate`` every ``interval_s`` until it returns a truthy value, and return that value.

    An exception from the predicate is not caught: a predicate that may raise while waiting (a connection
    refused) catches it itself and returns a falsy value. After ``timeout_s`` (a guard against hanging, not
    a deadline the test is meant to meet) fail with ``message`` (or what ``message()`` returns) and the
    last value seen.
    """
    guard = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= guard:
            text = message() if callable(message) else message
            raise WaitTimeout(f"{text} (waited {timeout_s:g} s; last value: {value!r})")
        time.sleep(interval_s)
