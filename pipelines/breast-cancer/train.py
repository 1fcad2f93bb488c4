"""Trains a classifier on the breast cancer data; Kiln collects what it writes.

Metrics go to $KILN_METRICS, outputs to $KILN_OUTPUTS, and the model and the held-out rows to
$KILN_ARTIFACTS, where the evaluate step reads them back through $KILN_INPUTS.
"""
import argparse
import os

import joblib
import pandas as pd
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score
from sklearn.model_selection import train_test_split

parser = argparse.ArgumentParser()
parser.add_argument("--data", required=True)
args = parser.parse_args()

seed = int(float(os.environ.get("SEED", "42")))
test_size = float(os.environ.get("TEST_SIZE", "0.25"))

df = pd.read_csv(args.data)
y = (df.pop("diagnosis") == "malignant").astype(int)
x_train, x_test, y_train, y_test = train_test_split(
    df, y, test_size=test_size, random_state=seed, stratify=y)

model = RandomForestClassifier(n_estimators=200, random_state=seed, n_jobs=1)
model.fit(x_train, y_train)
proba = model.predict_proba(x_test)[:, 1]
pred = (proba >= 0.5).astype(int)

metrics = {
    "accuracy": accuracy_score(y_test, pred),
    "f1": f1_score(y_test, pred),
    "roc_auc": roc_auc_score(y_test, proba),
    "train_rows": len(x_train),
    "test_rows": len(x_test),
}
with open(os.environ["KILN_METRICS"], "a") as f:
    for k, v in metrics.items():
        f.write(f"{k}={v}\n")
with open(os.environ["KILN_OUTPUTS"], "a") as f:
    f.write("model=random-forest\n")
    f.write(f"accuracy={metrics['accuracy']:.4f}\n")

artifacts = os.environ["KILN_ARTIFACTS"]
joblib.dump(model, os.path.join(artifacts, "model.joblib"))
test = x_test.copy()
test["diagnosis"] = y_test.map({1: "malignant", 0: "benign"})
test.to_csv(os.path.join(artifacts, "test.csv"), index=False)
print(f"trained on {len(x_train)} rows; accuracy {metrics['accuracy']:.4f} on {len(x_test)}")
