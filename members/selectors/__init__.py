"""Reads reused by pages, reports and commands, one module per subject; each runs a
fixed number of queries whatever the size of the registry."""
