"""Logs and metrics of every process: JSON log lines, the API's request metrics, the worker's
counters and gauges."""
