"""Beside the house, for development: the demo district (`seed_demo`), a synthetic
registry of any size (`generate_synthetic`) and the benchmark (`bench`).

It may import every app; no app imports it. It has no models and no pages.
"""
