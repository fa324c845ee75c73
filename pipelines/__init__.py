"""Prefect flows. They orchestrate; the `qc` library computes.

Tasks receive paths, dates and table names — never chat text (Prefect stores task
parameters) — and there are tens of tasks per run, not one per message.
"""

import os

# An offline shop server must not try to phone home on every run ("Failed to send
# telemetry"): analytics off unless the operator turns them on.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
