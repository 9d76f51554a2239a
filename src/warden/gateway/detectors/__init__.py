"""Deterministic detectors shared by input rails, output rails and tool-argument checks."""
