#!/usr/bin/python3
"""Generates the drift benchmark's data: reference and current, ROWS x 20 numeric columns.

Usage: make_data.py OUT_DIR [ROWS]   (ROWS defaults to 1,000,000). Writes reference.csv and
current.csv; the current data has every third column shifted by 0.1 standard deviations and
every fifth rescaled by 1.2, so some columns drift and some do not. Seeded: same files each run.
"""
import os
import sys

import numpy as np

out = sys.argv[1]
rows = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(20261126)
cols = [f"x{i:02d}" for i in range(20)]
header = ",".join(cols)

ref = rng.normal(size=(rows, 20)) * np.arange(1, 21) + np.arange(20)
cur = rng.normal(size=(rows, 20)) * np.arange(1, 21) + np.arange(20)
for j in range(20):
    if j % 3 == 0:
        cur[:, j] += 0.1 * (j + 1)
    if j % 5 == 0:
        cur[:, j] = (cur[:, j] - j) * 1.2 + j
np.savetxt(os.path.join(out, "reference.csv"), ref, fmt="%.6f", delimiter=",", header=header,
           comments="")
np.savetxt(os.path.join(out, "current.csv"), cur, fmt="%.6f", delimiter=",", header=header,
           comments="")
