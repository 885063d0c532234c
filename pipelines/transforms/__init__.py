"""Beam PTransforms: thin wiring around the pure functions of parsing/, ingest.py and sinks/."""
