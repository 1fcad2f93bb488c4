#!/usr/bin/python3
"""Makes the monitor example's batches from breast_cancer.csv (run from the repository root).

reference.csv: the even rows, as the model was trained on them.
drifted.csv:   the odd rows, with every mean_* and worst_* measurement 15% larger (a recalibrated
               scanner, say) and a third of the benign cases left out.
clean.csv:     the odd rows unchanged: a batch that does not drift.
"""
import os

DIR = os.path.join("pipelines", "monitor", "data")
with open(os.path.join(DIR, "breast_cancer.csv")) as f:
    header = f.readline().strip().split(",")
    rows = [line.strip().split(",") for line in f if line.strip()]

scaled = [i for i, c in enumerate(header) if c.startswith("mean_") or c.startswith("worst_")]
diagnosis = header.index("diagnosis")


def write(name, rows):
    with open(os.path.join(DIR, name), "w") as f:
        f.write(",".join(header) + "\n")
        f.writelines(",".join(r) + "\n" for r in rows)


drifted = []
for n, r in enumerate(rows[1::2]):
    if r[diagnosis] == "benign" and n % 3 == 0:
        continue
    r = list(r)
    for i in scaled:
        r[i] = repr(round(float(r[i]) * 1.15, 6))
    drifted.append(r)

write("reference.csv", rows[0::2])
write("clean.csv", rows[1::2])
write("drifted.csv", drifted)
