"""Prefect flows. They orchestrate; the `qc` library computes.

Tasks receive paths, dates and table names — never chat text (Prefect stores task
parameters) — and there are tens of tasks per run, not one per message.
"""
