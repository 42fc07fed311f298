"""The EVM chain as Qualitrail uses it: one typed client per contract, the transaction sender,
the deployment record, the role keys and the connection the activities and the API share."""
