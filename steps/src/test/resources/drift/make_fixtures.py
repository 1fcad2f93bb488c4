#!/usr/bin/python3
"""Makes the drift fixtures and their expected values with scipy (Debian's python3-scipy 1.10).

Run from the repository root:  /usr/bin/python3 workers/src/test/resources/drift/make_fixtures.py
Reads pipelines/monitor/data/breast_cancer.csv (a copy of /work/shared/data/breast_cancer.csv),
writes the data sets beside this script and expected.json with every method's numbers.
"""
import json
import os

import numpy as np
import scipy
from scipy import stats
from scipy.spatial import distance

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.join("pipelines", "monitor", "data", "breast_cancer.csv")
COLUMNS = ["mean_radius", "mean_texture", "mean_smoothness", "worst_area", "diagnosis"]


def read(path):
    with open(path) as f:
        header = f.readline().strip().split(",")
        rows = [line.strip().split(",") for line in f if line.strip()]
    return header, rows


def write(name, header, rows):
    with open(os.path.join(HERE, name), "w") as f:
        f.write(",".join(header) + "\n")
        for r in rows:
            f.write(",".join(r) + "\n")


def fmt(x):
    return repr(float(x))


header, rows = read(SOURCE)
idx = [header.index(c) for c in COLUMNS]
header = COLUMNS
rows = [[r[i] for i in idx] for r in rows]
# A small integer column with 4 distinct values (so 'auto' treats it as categorical):
# mean_radius rounded down to a multiple of 5.
header = header + ["radius_band"]
rows = [r + [str(int(float(r[0]) // 5 * 5))] for r in rows]

reference = rows[0::2]
same = rows[1::2]
# The drifted batch: the odd rows, radius and area grown, texture shifted, fewer benign cases.
shifted = []
for i, r in enumerate(rows[1::2]):
    if r[4] == "benign" and i % 3 == 0:
        continue
    radius = float(r[0]) * 1.15
    shifted.append([fmt(round(radius, 4)), fmt(round(float(r[1]) + 2.5, 4)), r[2],
                    fmt(round(float(r[3]) * 1.3, 2)), r[4], str(int(radius // 5 * 5))])
# Large: every row twice (1,138 rows, so 'auto' picks wasserstein and jensenshannon).
large_reference = rows + rows
large_current = shifted + shifted + same

write("reference.csv", header, reference)
write("current_same.csv", header, same)
write("current_shifted.csv", header, shifted)
write("large_reference.csv", header, large_reference)
write("large_current.csv", header, large_current)


def column(rows, j, numeric):
    vals = [r[j] for r in rows if r[j] != ""]
    return np.array([float(v) for v in vals]) if numeric else np.array(vals)


def quantile_bins(ref, cur, bins):
    inner = np.unique(np.quantile(ref, np.arange(1, bins) / bins))  # numpy default: linear
    rb = np.bincount(np.searchsorted(inner, ref, side="right"), minlength=len(inner) + 1)
    cb = np.bincount(np.searchsorted(inner, cur, side="right"), minlength=len(inner) + 1)
    return rb, cb


def category_bins(ref, cur):
    cats = sorted(set(ref) | set(cur))
    return (np.array([np.sum(ref == c) for c in cats]), np.array([np.sum(cur == c) for c in cats]))


def psi(rb, cb):
    r = rb / rb.sum()
    c = cb / cb.sum()
    r = np.where(r == 0, 0.0001, r)
    c = np.where(c == 0, 0.0001, c)
    return float(np.sum((c - r) * np.log(c / r)))


def compare(ref_rows, cur_rows, bins):
    out = {}
    for j, name in enumerate(header):
        numeric = name != "diagnosis"
        ref = column(ref_rows, j, numeric)
        cur = column(cur_rows, j, numeric)
        m = {}
        if numeric:
            ks = stats.ks_2samp(ref, cur)  # method='auto'
            m["ks"] = {"statistic": float(ks.statistic), "p_value": float(ks.pvalue)}
            asymp = stats.ks_2samp(ref, cur, method="asymp")
            m["ks_asymp"] = {"statistic": float(asymp.statistic), "p_value": float(asymp.pvalue)}
            w = stats.wasserstein_distance(ref, cur) / max(np.std(ref), 0.001)
            m["wasserstein"] = {"statistic": float(w), "p_value": None}
            rb, cb = quantile_bins(ref, cur, bins)
            distinct = len(np.unique(np.concatenate([ref, cur])))
            if distinct <= 5:
                keys_r = np.array([repr(v) for v in ref])
                keys_c = np.array([repr(v) for v in cur])
                crb, ccb = category_bins(keys_r, keys_c)
                chi = chisquare(crb, ccb)
                m["chisquare"] = chi
        else:
            rb, cb = category_bins(ref, cur)
            m["chisquare"] = chisquare(rb, cb)
            distinct = len(set(ref) | set(cur))
        m["psi"] = {"statistic": psi(rb, cb), "p_value": None}
        m["jensenshannon"] = {"statistic": float(distance.jensenshannon(rb, cb)), "p_value": None}
        small = len(ref_rows) <= 1000
        many = numeric and distinct > 5
        m["auto"] = ("ks" if many else "chisquare") if small else (
            "wasserstein" if many else "jensenshannon")
        out[name] = m
    return out


def chisquare(rb, cb):
    expected = rb / rb.sum() * cb.sum()
    r = stats.chisquare(cb, expected)
    return {"statistic": float(r.statistic), "p_value": float(r.pvalue)}


pairs = []
for ref_name, cur_name, ref_rows, cur_rows in [
    ("reference.csv", "current_same.csv", reference, same),
    ("reference.csv", "current_shifted.csv", reference, shifted),
    ("large_reference.csv", "large_current.csv", large_reference, large_current),
]:
    pairs.append({"reference": ref_name, "current": cur_name, "bins": 10,
                  "columns": compare(ref_rows, cur_rows, 10)})
    pairs.append({"reference": ref_name, "current": cur_name, "bins": 4,
                  "columns": compare(ref_rows, cur_rows, 4)})

with open(os.path.join(HERE, "expected.json"), "w") as f:
    json.dump({"scipy": scipy.__version__, "numpy": np.__version__, "pairs": pairs}, f, indent=1)
print("wrote", len(pairs), "pairs with scipy", scipy.__version__)
