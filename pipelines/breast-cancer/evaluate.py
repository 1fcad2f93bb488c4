"""Loads the model the train step made and scores it on the held-out rows."""
import argparse
import os

import joblib
import pandas as pd
from sklearn.metrics import accuracy_score, confusion_matrix, precision_score, recall_score

parser = argparse.ArgumentParser()
parser.add_argument("--model", required=True)
parser.add_argument("--test", required=True)
args = parser.parse_args()

model = joblib.load(args.model)
df = pd.read_csv(args.test)
y = (df.pop("diagnosis") == "malignant").astype(int)
pred = model.predict(df)
tn, fp, fn, tp = confusion_matrix(y, pred, labels=[0, 1]).ravel()

metrics = {
    "eval_accuracy": accuracy_score(y, pred),
    "precision": precision_score(y, pred),
    "recall": recall_score(y, pred),
    "false_negatives": fn,
}
with open(os.environ["KILN_METRICS"], "a") as f:
    for k, v in metrics.items():
        f.write(f"{k}={v}\n")
with open(os.environ["KILN_OUTPUTS"], "a") as f:
    f.write(f"eval_accuracy={metrics['eval_accuracy']:.4f}\n")
    f.write(f"confusion=tn {tn} fp {fp} fn {fn} tp {tp}\n")
print(f"evaluated {len(df)} rows: accuracy {metrics['eval_accuracy']:.4f}, "
      f"recall {metrics['recall']:.4f}, {fn} malignant missed")
