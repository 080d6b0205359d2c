"""False-alarm rate of the "original outside p16-p84" check of shape parameters.

When the re-fits of a shape parameter scatter symmetrically around the original value (they
return to the fit they were given), :func:`galfit_unc.statistics.misses_original` should
rarely be true.  This draws such samples (Gaussian in log10 around the original for an
index or size, with a spread of ``--spreads`` dex) and counts how often it is, per sample
size.  The rate grows with the spread: the floor (0.05 dex) is what keeps a wide but
centred scatter from being warned about.

Usage: ``python benchmarks/bench_return.py [--trials 4000] [--seed 1] [--sizes 8 12 20 50] [--spreads 0.02 0.05 0.1 0.2 0.4]``
"""

import argparse

import numpy as np

from galfit_unc.statistics import misses_original


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--sizes", type=int, nargs="+", default=[8, 12, 20, 50])
    parser.add_argument("--spreads", type=float, nargs="+", default=[0.02, 0.05, 0.1, 0.2, 0.4])
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    original = 3.0
    print("spread (dex)\t" + "\t".join(f"n={n}" for n in args.sizes))
    for spread in args.spreads:
        rates = [
            np.mean([misses_original("RE", original * 10 ** rng.normal(0.0, spread, size=n), original) for _ in range(args.trials)])
            for n in args.sizes
        ]
        print(f"{spread:g}\t" + "\t".join(f"{100 * r:.1f} %" for r in rates), flush=True)


if __name__ == "__main__":
    main()
