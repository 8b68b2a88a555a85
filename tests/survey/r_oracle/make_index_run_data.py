"""Write the deterministic sample of index_run.R (run once; the CSV is committed)."""

import csv
from pathlib import Path

import numpy as np

rng = np.random.default_rng(20261201)
frame = {"U1": (400, 60), "U2": (250, 50), "U3": (150, 40)}  # unit: (N_h, n_h)
rows = []
mid = 0
for unit, (N, n) in frame.items():
    for _ in range(n):
        mid += 1
        status = rng.choice(["I", "R", "NC", "NE", "UH"], p=[0.7, 0.1, 0.1, 0.05, 0.05])
        field = "F1" if rng.random() < 0.6 else "F2"
        q = (0.4 if unit == "U1" else -0.3 if unit == "U3" else 0.0) + (0.3 if field == "F1" else 0.0)
        person = 3.6 + q + rng.normal(0, 0.8)
        ans = [int(np.clip(np.rint(person + rng.normal(0, 0.6)), 1, 5)) if rng.random() > 0.07 else 0 for _ in range(4)]
        rows.append({"member": mid, "unit": unit, "stratum": unit, "N_h": N, "prob": n / N, "status": status, "field": field,
                     "q1": ans[0], "q2": ans[1], "q3": ans[2], "q4": ans[3]})
out = Path(__file__).with_name("index_run_data.csv")
with out.open("w", newline="") as fh:
    w = csv.DictWriter(fh, fieldnames=list(rows[0]))
    w.writeheader()
    w.writerows(rows)
print(out, len(rows))
