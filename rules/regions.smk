# Stage 2: blank-sky windows of the fitted region's size, with the local sky noise of the frame.
# A checkpoint: how many windows there are depends on the data.  Region ids come from window
# positions, so later stages of a window that stays selected are not redone when other windows
# come or go.


checkpoint regions:
    input:
        mask="results/{target}/{band}/mask.fits",
        image=column("image"),
        imgblock=column("imgblock"),
    output:
        tsv="results/{target}/{band}/regions.tsv",
        noise="results/{target}/{band}/noise.fits",
    params:
        contaminant_frac=config["regions"]["contaminant_frac"],
        max_overlap=config["regions"]["max_overlap"],
        max_regions=config["regions"]["max_regions"],
        min_regions=config["regions"]["min_regions"],
        target_margin=config["regions"]["target_margin"],
        noise_box=config["regions"]["noise_box"],
        noise_tolerance=config["regions"]["noise_tolerance"],
        spread=config["regions"]["spread"],
        clip_sigma=config["mask"]["clip_sigma"],
        clip_iters=config["mask"]["clip_iters"],
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    log:
        "logs/{target}/{band}/regions.log",
    conda:
        ENV
    script:
        "../workflow_scripts/regions.py"
