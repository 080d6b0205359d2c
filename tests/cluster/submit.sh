#!/bin/sh
# Stand-in for sbatch: run the job script in the background, detached from the caller, and
# print a job id.  The queue is the directory $STANDIN_QUEUE: <id>.sh is a copy of the job
# script (Snakemake deletes its own when the job ends), <id>.out its output, and <id>.exit
# its exit status once it has finished.
set -eu
queue="${STANDIN_QUEUE:?set STANDIN_QUEUE to the queue directory}"
jobscript="$1"
id="$(date +%s%N)-$$"
cp "$jobscript" "$queue/$id.sh"
setsid nohup sh -c 'sh "$1.sh" > "$1.out" 2>&1; echo $? > "$1.exit.tmp"; mv "$1.exit.tmp" "$1.exit"' sh "$queue/$id" \
    > /dev/null 2>&1 < /dev/null &
echo "$id"
