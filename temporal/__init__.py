"""Temporal plumbing shared by the worker, the API and the CLI: the client connection, the payload
codec and converter, the SDK runtime (metrics), heartbeats, and the names of workflows, queries and
errors that cross the seam between the API and the workflows."""
