"""tests/bench/run's parts: processes, the stack, the load, the report."""
