"""tests/faults/run's parts: the FastCGI client, the crowds of bad
connections, the pool under test, the scenarios and the table."""
