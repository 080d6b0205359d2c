# The galaxy light of the original model (once per target): what every window gets injected.


rule galaxy:
    input:
        unpack(optional("feedme", imgblock=column("imgblock"))),
    output:
        "results/{target}/{band}/galaxy.fits",
    params:
        sky_in_model=lambda wc: row(wc).get("sky_in_model", ""),
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    log:
        "logs/{target}/{band}/galaxy.log",
    conda:
        "../envs/galfit-unc.yaml"
    script:
        "../workflow_scripts/galaxy.py"

