# The galaxy light of the original model (once per target): what every window gets injected,
# including components the original fit used but left out of HDU2 (Z) 1).


rule galaxy:
    input:
        unpack(optional("feedme", imgblock=column("imgblock"), psf=column("psf"))),
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
        ENV
    script:
        "../workflow_scripts/galaxy.py"

