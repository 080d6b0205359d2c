# The built-in demo target: a synthetic frame with known truth (galfit_unc.demo).
#   demo_frame   -> frame, PSF, truth.tsv, comp_ident and constraints of the demo target
#   demo_userfit -> the "user's fit": a feedme with perturbed starting values, fitted by the
#                   embedded engine to produce the image block, as a user's GALFIT run would
#   demo_truth   -> demo_truth.tsv: true vs original magnitude, error in units of sigma
# DEMO_OUTPUTS lists the files the default target `all` builds in addition to every
# target's outputs: demo_truth.tsv when the targets table has the demo's row, else nothing.

DEMO = "results/demo/z"
DEMO_INPUT = DEMO + "/input"
DEMO_LOGS = "logs/demo/z"

# ROWS: the targets table, read by common.smk (included first).
_demo_row = ROWS.get(("demo", "z"), {})
DEMO_OUTPUTS = [DEMO + "/demo_truth.tsv"] if _demo_row.get("image") == DEMO_INPUT + "/frame.fits" else []


rule demo_frame:
    output:
        frame=DEMO_INPUT + "/frame.fits",
        psf=DEMO_INPUT + "/psf.fits",
        truth=DEMO_INPUT + "/truth.tsv",
        comp_ident=DEMO_INPUT + "/comp_ident.txt",
        constraints=DEMO_INPUT + "/constraints.txt",
    params:
        settings=config.get("demo", {}),
    threads: 1
    resources:
        mem_mb=2000,
        runtime=5,
    log:
        DEMO_LOGS + "/demo_frame.log",
    conda:
        ENV
    script:
        "../workflow_scripts/demo_frame.py"


rule demo_userfit:
    input:
        frame=DEMO_INPUT + "/frame.fits",
        psf=DEMO_INPUT + "/psf.fits",
        constraints=DEMO_INPUT + "/constraints.txt",
    output:
        feedme=DEMO_INPUT + "/fit.gal",
        imgblock=DEMO_INPUT + "/imgblock.fits",
    params:
        settings=config.get("demo", {}),
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    log:
        DEMO_LOGS + "/demo_userfit.log",
    conda:
        ENV
    script:
        "../workflow_scripts/demo_userfit.py"


rule demo_truth:
    input:
        uncertainties=DEMO + "/uncertainties.tsv",
        truth=DEMO_INPUT + "/truth.tsv",
    output:
        DEMO + "/demo_truth.tsv",
    localrule: True
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    log:
        DEMO_LOGS + "/demo_truth.log",
    conda:
        ENV
    script:
        "../workflow_scripts/demo_truth.py"
