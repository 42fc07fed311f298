"""All I/O of the workflows: database, chain, notifications, certificates."""
