# Stage 7: DS9 region files of the original model (image and sky coordinates).


rule regfile:
    input:
        imgblock=column("imgblock"),
        image=column("image"),
        comp_ident=column("comp_ident"),
    output:
        reg=OUT + "/model.reg",
        fk5=OUT + "/model_fk5.reg",
    params:
        frame=config["regfile"]["frame"],
    log:
        LOGS + "/regfile.log",
    conda:
        ENV
    script:
        "../workflow_scripts/regfile.py"
