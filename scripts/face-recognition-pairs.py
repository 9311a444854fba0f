#!/usr/bin/env python3
"""face_recognition's figure on a labelled pair list, for comparison with `facetwin evaluate --pairs`.

    python scripts/face-recognition-pairs.py PAIRS.csv [--root DIR] [--out distances.csv]

PAIRS.csv: image1,image2,same (paths relative to --root, default the CSV's folder), same = 1 for
the same person. Each photo: face_recognition.face_locations (HOG, upsample 1), the largest face,
face_encodings (5-point landmarks, 1 jitter): what a face_recognition user gets. A photo without
a face, or that Pillow cannot read, is a failure to acquire; its pairs are listed and left out.
Prints EER (with its threshold), ROC AUC, accuracy at dlib's 0.6, and seconds a photo.
"""
import argparse, csv, os, sys, time

import numpy as np
import face_recognition


def roc_eer(dist, same):
    order = np.argsort(dist, kind="stable")
    d, s = dist[order], same[order]
    pos, neg = s.sum(), (1 - s).sum()
    tar = np.cumsum(s) / pos
    far = np.cumsum(1 - s) / neg
    frr = 1 - tar
    i = int(np.argmin(np.abs(far - frr)))
    eer = (far[i] + frr[i]) / 2
    # AUC: probability a genuine distance is below an impostor distance (ties count half)
    g, im = dist[same == 1], dist[same == 0]
    auc = ((g[:, None] < im[None, :]).sum() + 0.5 * (g[:, None] == im[None, :]).sum()) / (len(g) * len(im))
    return eer, d[i], auc


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("pairs")
    ap.add_argument("--root")
    ap.add_argument("--out")
    a = ap.parse_args()
    root = a.root or os.path.dirname(os.path.abspath(a.pairs))
    rows = [r for r in csv.DictReader(open(a.pairs, newline=""))]
    enc, fail, secs = {}, {}, []
    for name in sorted({r["image1"] for r in rows} | {r["image2"] for r in rows}):
        t = time.perf_counter()
        try:
            img = face_recognition.load_image_file(os.path.join(root, name))
            boxes = face_recognition.face_locations(img, number_of_times_to_upsample=1, model="hog")
            if not boxes:
                fail[name] = "no face"
                continue
            box = max(boxes, key=lambda b: (b[2] - b[0]) * (b[1] - b[3]))
            enc[name] = face_recognition.face_encodings(img, [box])[0]
        except Exception as e:  # unreadable photo
            fail[name] = str(e).splitlines()[0][:80]
        finally:
            secs.append(time.perf_counter() - t)
    dist, same, kept = [], [], []
    for r in rows:
        x, y = r["image1"], r["image2"]
        if x in enc and y in enc:
            dist.append(float(np.linalg.norm(enc[x] - enc[y])))
            same.append(int(r["same"]))
            kept.append(r)
    dist, same = np.array(dist), np.array(same)
    eer, thr, auc = roc_eer(dist, same)
    acc = ((dist <= 0.6) == (same == 1)).mean()
    print(f"face_recognition: {len(rows)} pairs, {len(kept)} scored ({len(rows) - len(kept)} with a photo failed), "
          f"{len(fail)} photos failed of {len(enc) + len(fail)}")
    for n, why in sorted(fail.items()):
        print(f"  FTA {n}: {why}")
    print(f"EER {100 * eer:.2f} % at distance {thr:.4f}; ROC AUC {auc:.4f}; accuracy at 0.6 {100 * acc:.2f} %")
    print(f"seconds a photo: median {np.median(secs):.3f}, mean {np.mean(secs):.3f}")
    if a.out:
        with open(a.out, "w") as f:
            f.write("image1,image2,same,distance\n")
            for r, d in zip(kept, dist):
                f.write(f"{r['image1']},{r['image2']},{r['same']},{d:.6f}\n")


if __name__ == "__main__":
    sys.exit(main())
