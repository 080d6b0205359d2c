# Stage 5: re-fit every injected window with the configured engine, in a directory of its
# own.  A failed fit is data (status.json says why), never a job error.


rule fit:
    input:
        unpack(fit_inputs),
    output:
        status="results/{target}/{band}/regions/{region}/status.json",
        fitdir=directory("results/{target}/{band}/regions/{region}/fit"),
    params:
        engine=config["fitter"]["engine"],
        galfit=config["fitter"]["galfit"],
        timeout=config["fitter"]["timeout"],
    threads: 1
    resources:
        mem_mb=2000,
        runtime=int(config["fitter"]["timeout"] / 60) + 5,
    log:
        "logs/{target}/{band}/regions/{region}/fit.log",
    conda:
        "../envs/galfit-unc.yaml"
    script:
        "../workflow_scripts/fit.py"
