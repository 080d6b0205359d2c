# Stage 2: blank-sky windows of the fitted region's size, with the local sky noise of the frame.
# A checkpoint: how many windows there are depends on the data.  Region ids come from window
# positions, so later stages of a window that stays selected are not redone when other windows
# come or go.


checkpoint windows:
    input:
        mask="results/{target}/{band}/mask.fits",
        image=column("image"),
        imgblock=column("imgblock"),
    output:
        tsv="results/{target}/{band}/windows.tsv",
        noise="results/{target}/{band}/noise.fits",
    params:
        contaminant_frac=config["windows"]["contaminant_frac"],
        max_overlap=config["windows"]["max_overlap"],
        max_windows=config["windows"]["max_windows"],
        min_windows=config["windows"]["min_windows"],
        target_margin=config["windows"]["target_margin"],
        noise_box=config["windows"]["noise_box"],
        noise_tolerance=config["windows"]["noise_tolerance"],
        spread=config["windows"]["spread"],
        clip_sigma=config["mask"]["clip_sigma"],
        clip_iters=config["mask"]["clip_iters"],
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    log:
        "logs/{target}/{band}/windows.log",
    conda:
        ENV
    script:
        "../workflow_scripts/windows.py"
