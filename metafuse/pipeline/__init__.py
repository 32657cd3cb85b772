"""The pipeline: specs, the plan of a build, its analyses and its outputs.

The pipeline: analysis specs, the plan of a build (automatic analyses plus specs), running each
analysis once, and writing results atomically with a manifest that ``verify`` checks.
"""
