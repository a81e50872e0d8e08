#!/usr/bin/python3
"""Reference values for src/omni/profile/kmeans_test.cc, from scikit-learn.

Writes src/omni/profile/testdata/kmeans_blobs.csv: 300 customers in four
well-separated groups, with features in very different units (days, orders,
yuan) and one constant column, so that standardisation and constant-column
handling are both exercised. The last column, sklearn_label, is
scikit-learn's partition. Prints scikit-learn's inertia and silhouette, which
the C++ test embeds.

Run with Debian's python3-sklearn (the `python3` first on PATH may lack it):
    /usr/bin/python3 tests/reference/kmeans_reference.py
The data are generated from a fixed seed; the CSV holds them rounded to 4
decimals, and scikit-learn is run on the values read back from the CSV, so
both sides see exactly the same numbers.
"""
import csv
import os
import sys

import numpy as np
import sklearn
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score
from sklearn.preprocessing import StandardScaler

K = 4
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "src", "omni", "profile", "testdata", "kmeans_blobs.csv")
COLUMNS = ["recency_days", "orders", "spend_cny", "country_code"]


def main():
    rng = np.random.RandomState(20260301)
    # Group centres in standard units, at least 8 apart; noise sd 1.
    centres = np.array([[0, 0, 0], [8, 8, 0], [0, 8, 8], [8, 0, 8]], dtype=float)
    sizes = [90, 80, 70, 60]
    z = np.vstack([c + rng.normal(size=(m, 3)) for c, m in zip(centres, sizes)])
    z = z[rng.permutation(len(z))]
    x = np.column_stack([30 + 10 * z[:, 0], 5 + 2 * z[:, 1], 1000 + 300 * z[:, 2],
                         np.full(len(z), 86.0)])
    x = np.round(x, 4)

    # Round-trip through the CSV text so sklearn sees what the C++ test reads.
    rows = [["%.4f" % v for v in r] for r in x]
    x = np.array([[float(v) for v in r] for r in rows])

    x_std = StandardScaler().fit_transform(x)
    km = KMeans(n_clusters=K, n_init=10, random_state=0).fit(x_std)
    silhouette = silhouette_score(x_std, km.labels_)

    with open(OUT, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(COLUMNS + ["sklearn_label"])
        for r, label in zip(rows, km.labels_):
            w.writerow(r + [int(label)])

    print("scikit-learn %s, numpy %s" % (sklearn.__version__, np.__version__))
    print("rows %d, k %d" % (len(x), K))
    print("inertia %r" % float(km.inertia_))
    print("silhouette %r" % float(silhouette))
    print("cluster sizes %s" % np.bincount(km.labels_).tolist())
    print("wrote %s" % os.path.relpath(OUT, ROOT), file=sys.stderr)


if __name__ == "__main__":
    main()
