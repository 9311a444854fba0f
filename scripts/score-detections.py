#!/usr/bin/env python3
"""Scores face detections against a compose-photos.py manifest.

Detections come as lines "PATH<TAB>x y w h [score]" (scripts/detector-bench faces, or
`facetwin detect --json` converted by --facetwin-json). A detection is a hit on a placed face
when its centre lies inside the face's rotated crop and its width is 0.25-1.3x the crop's
scaled width (the crop includes hair and background, a detector's box is the face inside it);
each face takes at most one detection. Everything else is a false detection.

  scripts/score-detections.py --manifest /tmp/photos/manifest.json --root /tmp/photos/ppm dets.txt
  recall = hit faces / faces; false detections per photo = unmatched detections / photos;
  false-detection rate = unmatched detections / all detections.

With --eyes (facetwin detect --json input), the landmark eyes of each hit face are also mapped
back into its source crop through the manifest's affine map and summarised as fractions of the
crop (where FaceAligner puts them: ORL's (0.309, 0.472) and (0.674, 0.472)), and as fractions of
the detector's box (FaceAligner's fallback for faces without landmarks).
"""
import argparse
import json
import os
import sys


def inside(pt, poly):
    x, y = pt
    n = len(poly)
    ok = None
    for i in range(n):
        (x1, y1), (x2, y2) = poly[i], poly[(i + 1) % n]
        cross = (x2 - x1) * (y - y1) - (y2 - y1) * (x - x1)
        s = cross >= 0
        if ok is None:
            ok = s
        elif ok != s:
            return False
    return True


def to_crop(m, pt):
    """Photo point -> crop point through the inverse of the manifest's 2x3 affine m."""
    a, b, tx = m[0]
    c, d, ty = m[1]
    det = a * d - b * c
    x, y = pt[0] - tx, pt[1] - ty
    return ((d * x - b * y) / det, (-c * x + a * y) / det)


def stats(values):
    n = len(values)
    mean = sum(values) / n
    sd = (sum((v - mean) ** 2 for v in values) / max(1, n - 1)) ** 0.5
    return mean, sd


def summarise_eyes(rows):
    if not rows:
        print("eyes: no hit face has landmark eyes")
        return
    crop = {"lx": [], "ly": [], "rx": [], "ry": []}
    box = {"lx": [], "ly": [], "rx": [], "ry": []}
    upright = {"lx": [], "ly": [], "rx": [], "ry": []}
    for f, d in rows:
        w0, h0 = f["crop_size"]
        (l, r) = d[4]
        for side, pt in (("l", l), ("r", r)):
            cx, cy = to_crop(f["affine"], pt)
            crop[side + "x"].append(cx / w0)
            crop[side + "y"].append(cy / h0)
            fx, fy = (pt[0] - d[0]) / d[2], (pt[1] - d[1]) / d[3]
            box[side + "x"].append(fx)
            box[side + "y"].append(fy)
            if abs(f["angle"]) <= 5:
                upright[side + "x"].append(fx)
                upright[side + "y"].append(fy)

    def line(name, table):
        parts = []
        for k in ("lx", "ly", "rx", "ry"):
            if table[k]:
                m, sd = stats(table[k])
                parts.append(f"{k} {m:.3f} (sd {sd:.3f})")
        print(f"{name}: " + ", ".join(parts))

    print(f"eyes of {len(rows)} hit faces (l = the eye on the image's left):")
    line("  in the source crop, fractions of its width and height", crop)
    line("  in the detector's box, fractions of its width and height", box)
    line(f"  in the box, faces rotated at most 5 degrees ({len(upright['lx'])})", upright)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--root", required=True, help="folder the photo paths in the detections are under")
    ap.add_argument("--facetwin-json", action="store_true", help="input is `facetwin detect --json` output")
    ap.add_argument("--eyes", action="store_true", help="summarise eye positions (needs --facetwin-json)")
    ap.add_argument("detections")
    args = ap.parse_args()
    man = json.load(open(args.manifest))
    photos = {p["photo"]: p for p in man["photos"]}
    dets = {k: [] for k in photos}
    times = []

    def key(path):
        rel = os.path.relpath(path, args.root)
        return os.path.splitext(rel)[0]

    if args.facetwin_json:
        doc = json.load(open(args.detections))
        for p in doc["photos"]:
            k = key(p["path"])
            for f in p.get("faces", []):
                b = f["box"]
                eyes = None
                if f.get("leftEye") and f.get("rightEye"):
                    eyes = ((f["leftEye"]["x"], f["leftEye"]["y"]), (f["rightEye"]["x"], f["rightEye"]["y"]))
                dets[k].append((b["x"], b["y"], b["width"], b["height"], eyes))
    else:
        for line in open(args.detections):
            if line.startswith("#time"):
                times.append(float(line.split()[-1]))
                continue
            path, rest = line.rstrip("\n").split("\t")
            x, y, w, h = (float(v) for v in rest.split()[:4])
            dets[key(path)].append((x, y, w, h))

    faces = hits = false = total = 0
    missed, fps = [], []
    eye_rows = []
    for k, p in photos.items():
        ds = list(dets.get(k, []))
        total += len(ds)
        for f in p["faces"]:
            faces += 1
            cw = f["crop_size"][0] * f["scale"]
            match = None
            for d in ds:
                c = (d[0] + d[2] / 2, d[1] + d[3] / 2)
                if inside(c, f["corners"]) and 0.25 * cw <= d[2] <= 1.3 * cw:
                    match = d
                    break
            if match:
                hits += 1
                ds.remove(match)
                if len(match) > 4 and match[4]:
                    eye_rows.append((f, match))
            else:
                missed.append(f"{k} (scale {f['scale']}, angle {f['angle']})")
        false += len(ds)
        fps += [f"{k} {d}" for d in ds]
    print(f"faces {faces}  found {hits}  recall {100 * hits / faces:.1f}%  "
          f"false detections {false} ({100 * false / max(1, total):.1f}% of {total} detections, "
          f"{false / len(photos):.3f} per photo)")
    if times:
        times.sort()
        print(f"time per photo: median {times[len(times) // 2]:.1f} ms, mean {sum(times) / len(times):.1f} ms")
    if args.eyes:
        summarise_eyes(eye_rows)
    for m in missed:
        print("  missed", m)
    for f in fps[:20]:
        print("  false", f)


if __name__ == "__main__":
    main()
