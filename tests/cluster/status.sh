#!/bin/sh
# Stand-in for a SLURM status query: running, success or failed for job id $1 of
# $STANDIN_QUEUE (see submit.sh).
set -eu
marker="${STANDIN_QUEUE:?set STANDIN_QUEUE to the queue directory}/$1.exit"
if [ ! -f "$marker" ]; then
    echo running
elif [ "$(cat "$marker")" = 0 ]; then
    echo success
else
    echo failed
fi
