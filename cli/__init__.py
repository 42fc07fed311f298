"""The `qualitrail` command line: run the stack, the worker, the API, the demo and the auditor tools."""
