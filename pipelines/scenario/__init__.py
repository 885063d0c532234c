"""Labelled scenario generators: synthetic logs with a known attack and its ground truth."""
