"""Analysis and prediction: forecasts, staffing and the digital twin (pure code, no I/O)."""
