# The `all` summary: every target's and band's uncertainties.tsv in one table, the target
# and band as its first two columns, every other cell copied as the tables wrote it.

SUMMARY = "results/summary.tsv"
SUMMARY_INPUTS = {(r["target"], r["band"]): f"results/{r['target']}/{r['band']}/uncertainties.tsv" for r in TARGETS}


def summary_lines(tables):
    """Lines of the summary of ``tables``, {(target, band): path of its uncertainties.tsv}."""
    header, lines = None, []
    for (target, band), path in tables.items():
        body = [ln for ln in Path(path).read_text().splitlines() if ln.strip() and not ln.startswith("#")]
        if not body:
            raise ValueError(f"{path}: header: the table is empty; delete it and re-run the workflow")
        if header is None:
            header = body[0]
        elif body[0] != header:
            raise ValueError(f"{path}: header: columns differ from the other targets' tables; delete it and re-run the workflow")
        lines += [f"{target}\t{band}\t{line}" for line in body[1:]]
    return [f"target\tband\t{header}", *lines]


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
    log:
        "logs/summary.log",
    run:
        Path(output[0]).write_text("\n".join(summary_lines(SUMMARY_INPUTS)) + "\n")
        Path(log[0]).write_text(f"{len(SUMMARY_INPUTS)} tables gathered\n")
