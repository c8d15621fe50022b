"""Writes of the branches app that touch several rows, one module per subject."""
