"""Shared by the workflow's scripts: the rule's log and one-line failures."""

import sys
import traceback


def run(snakemake, main):
    """Call ``main(snakemake)`` with its output going to the rule's log.

    On an error the traceback goes to the log and one line saying what went wrong to the
    terminal, then the job fails.
    """
    terminal = sys.stderr
    with open(snakemake.log[0], "w") as log:
        sys.stdout = sys.stderr = log
        try:
            main(snakemake)
        except Exception as exc:
            traceback.print_exc(file=log)
            where = ", ".join(f"{k}={v}" for k, v in snakemake.wildcards.items())
            print(f"rule {snakemake.rule} ({where}): {exc}", file=terminal)
            raise SystemExit(1) from None
        finally:
            sys.stdout, sys.stderr = sys.__stdout__, terminal

