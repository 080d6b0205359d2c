# Stage 5: re-fit every injected window with the configured engine, in a directory of its
# own.  A failed fit is data (status.json says why), never a job error.


def fit_inputs(wildcards):
    r = row(wildcards)
    region = f"{OUT}/regions/{{region}}".format(**wildcards)
    files = {"feedme": f"{region}/fit.gal", "image": f"{region}/injected.fits", "psf": r["psf"]}
    if r["constraints"]:
        files["constraints"] = r["constraints"]
    for kind in ("mask", "sigma"):
        if r.get(kind):
            files[kind] = f"{region}/{kind}_cut.fits"
    return files


rule fit:
    input:
        unpack(fit_inputs),
    output:
        status=REGION + "/status.json",
        fitdir=directory(REGION + "/fit"),
    params:
        engine=config["fitter"]["engine"],
        galfit=config["fitter"]["galfit"],
        timeout=config["fitter"]["timeout"],
    threads: 1
    resources:
        runtime=int(config["fitter"]["timeout"] / 60) + 5,
    log:
        LOGS + "/regions/{region}/fit.log",
    conda:
        ENV
    script:
        "../workflow_scripts/fit.py"
