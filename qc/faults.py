"""Crash points for the crash-safety test (tests/test_crash.py): with QC_CRASH_AT=<name> in
the environment, the process kills itself with SIGKILL — exactly what `kill -9` does —
when it reaches that point. Unset (always, in production), `point()` is one dict lookup."""

from __future__ import annotations

import os
import signal

_AT = os.environ.get("QC_CRASH_AT")


def point(name: str) -> None:
    if _AT is not None and _AT == name:
        os.kill(os.getpid(), signal.SIGKILL)
