#!/bin/sh
# Fast engine for the executor tests: appends its working directory to $STANDIN_FITS (one
# line per fit executed), then runs the GALFIT-like stand-in.
set -eu
echo "$PWD" >> "${STANDIN_FITS:?set STANDIN_FITS to the fit counter file}"
exec "${STANDIN_PYTHON:?set STANDIN_PYTHON to the interpreter}" "$(dirname "$0")/../standins/galfit_like.py" "$@"
