# Stage 7: DS9 region files of the original model (image and sky coordinates).


rule regfile:
    input:
        imgblock=column("imgblock"),
        image=column("image"),
        comp_ident=column("comp_ident"),
    output:
        reg="results/{target}/{band}/model.reg",
        fk5="results/{target}/{band}/model_fk5.reg",
    params:
        frame=config["regfile"]["frame"],
    localrule: True
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    log:
        "logs/{target}/{band}/regfile.log",
    conda:
        ENV
    script:
        "../workflow_scripts/regfile.py"
