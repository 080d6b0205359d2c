"""Rule demo_frame: the demo's synthetic frame, PSF, truth, comp_ident and constraints."""

import shutil
import tempfile
from pathlib import Path

from galfit_unc.demo.scene import make_demo, write_inputs
from galfit_unc.demo.settings import DemoSettings

from _common import run


def main(snakemake):
    settings = DemoSettings.from_config(snakemake.params.settings)
    print(f"demo settings: {settings}")
    demo = make_demo(settings)
    out = snakemake.output
    # Written in a private directory, then moved: no half-written inputs on a failure.
    with tempfile.TemporaryDirectory(dir=Path(out.frame).parent) as tmp:
        written = write_inputs(demo, tmp)
        for name, path in written.items():
            shutil.move(str(path), getattr(out, name))
    print(f"frame {settings.size}x{settings.size}, {settings.n_stars} stars, {settings.n_galaxies} galaxies, sky {settings.sky_level:.2f} +- {settings.sky_sigma:.2f} ADU")


run(snakemake, main)  # noqa: F821 (snakemake is injected by the script directive)
