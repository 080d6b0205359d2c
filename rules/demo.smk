# The built-in demo target: a synthetic frame with known truth (galfit_unc.demo).
#   demo_frame   -> frame, PSF, truth.tsv, comp_ident and constraints of the demo target
#   demo_userfit -> the "user's fit": a feedme with perturbed starting values, fitted by the
#                   embedded engine to produce the image block, as a user's GALFIT run would
#   demo_truth   -> demo_truth.tsv: true vs original magnitude, error in units of sigma
# DEMO_OUTPUTS lists the files the default target `all` builds in addition to every
# target's outputs: demo_truth.tsv when the targets table has the demo's row, else nothing.

# ROWS: the targets table, read by common.smk (included first).
_demo_row = ROWS.get(("demo", "z"), {})
DEMO_OUTPUTS = ["results/demo/z/demo_truth.tsv"] if _demo_row.get("image") == "results/demo/z/input/frame.fits" else []


rule demo_frame:
    output:
        frame="results/demo/z/input/frame.fits",
        psf="results/demo/z/input/psf.fits",
        truth="results/demo/z/input/truth.tsv",
        comp_ident="results/demo/z/input/comp_ident.txt",
        constraints="results/demo/z/input/constraints.txt",
    params:
        settings=config.get("demo", {}),
    threads: 1
    resources:
        mem_mb=2000,
        runtime=5,
    log:
        "logs/demo/z/demo_frame.log",
    conda:
        ENV
    script:
        "../workflow_scripts/demo_frame.py"


rule demo_userfit:
    input:
        frame="results/demo/z/input/frame.fits",
        psf="results/demo/z/input/psf.fits",
        constraints="results/demo/z/input/constraints.txt",
    output:
        feedme="results/demo/z/input/fit.gal",
        imgblock="results/demo/z/input/imgblock.fits",
    params:
        settings=config.get("demo", {}),
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    log:
        "logs/demo/z/demo_userfit.log",
    conda:
        ENV
    script:
        "../workflow_scripts/demo_userfit.py"


rule demo_truth:
    input:
        uncertainties="results/demo/z/uncertainties.tsv",
        truth="results/demo/z/input/truth.tsv",
    output:
        "results/demo/z/demo_truth.tsv",
    localrule: True
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    log:
        "logs/demo/z/demo_truth.log",
    conda:
        ENV
    script:
        "../workflow_scripts/demo_truth.py"
