# Stage 8: the windows on the frame, and the re-fitted magnitudes per object.


rule plot_sky_windows:
    input:
        image=column("image"),
        mask="results/{target}/{band}/mask.fits",
        windows="results/{target}/{band}/windows.tsv",
        noise="results/{target}/{band}/noise.fits",
        imgblock=column("imgblock"),
    output:
        report("results/{target}/{band}/sky_windows.png", caption="../report/sky_windows.rst", category="{target}", subcategory="{band}"),
    localrule: True
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    log:
        "logs/{target}/{band}/plot_sky_windows.log",
    conda:
        ENV
    script:
        "../workflow_scripts/plot_sky_windows.py"


rule plot_magnitudes:
    input:
        unpack(magnitudes_plot_inputs),
    output:
        report("results/{target}/{band}/magnitudes.png", caption="../report/magnitudes.rst", category="{target}", subcategory="{band}"),
    params:
        use_flagged=config["stats"]["use_flagged"],
    localrule: True
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    log:
        "logs/{target}/{band}/plot_magnitudes.log",
    conda:
        ENV
    script:
        "../workflow_scripts/plot_magnitudes.py"
