#!/usr/bin/python3
"""The benchmark's baseline: what 'kiln drift' does, in pandas + scipy, per column.

Usage: drift_scipy.py REFERENCE.csv CURRENT.csv ks|auto
ks:   scipy.stats.ks_2samp per column (method='auto'), drift if p <= 0.05.
auto: over 1,000 reference rows and numeric with > 5 distinct values, Evidently's choice is
      wasserstein_distance / std(ref), drift if >= 0.1.
Prints the number of drifted columns and the share.
"""
import sys

import numpy as np
import pandas as pd
from scipy import stats

ref = pd.read_csv(sys.argv[1])
cur = pd.read_csv(sys.argv[2])
method = sys.argv[3]
drifted = 0
for c in ref.columns:
    r = ref[c].dropna().to_numpy()
    k = cur[c].dropna().to_numpy()
    if method == "ks":
        drifted += stats.ks_2samp(r, k).pvalue <= 0.05
    else:
        many = len(np.unique(np.concatenate([r, k]))) > 5
        if len(ref) <= 1000 or not many:
            raise SystemExit("not the benchmark's case")
        drifted += stats.wasserstein_distance(r, k) / max(np.std(r), 0.001) >= 0.1
print(f"{drifted} of {len(ref.columns)} columns drifted, share {drifted / len(ref.columns):.3f}")
