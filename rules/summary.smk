# The `all` summary: every target's and band's uncertainties.tsv in one table, the target
# and band as its first two columns, every other cell copied as the tables wrote it.

SUMMARY = "results/summary.tsv"
SUMMARY_INPUTS = {(r["target"], r["band"]): f"results/{r['target']}/{r['band']}/uncertainties.tsv" for r in TARGETS}


rule summary:
    input:
        list(SUMMARY_INPUTS.values()),
    output:
        report(SUMMARY, caption="../report/summary.rst", category="Summary"),
    localrule: True
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        # (target, band) of each input, in order.
        table_keys=list(SUMMARY_INPUTS),
    log:
        "logs/summary.log",
    conda:
        ENV
    script:
        "../workflow_scripts/summary.py"
