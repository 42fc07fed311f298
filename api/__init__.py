"""The HTTP API service desks use, and the public verification page customers scan to."""
