"""Embedded GALFIT-compatible fitter: reads GALFIT input files, fits, writes GALFIT's outputs."""
