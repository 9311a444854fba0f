#!/usr/bin/env bash
# The cost of face detection and alignment, end to end: a model trained on ORL crops of 32
# people (s1-s32, default recipe), the other 8 people's 80 crops composed into whole photos
# (scripts/compose-photos.py: one face each, scaled 0.5-3x, rotated up to 15 degrees, on textured
# colour backgrounds, JPEG with EXIF rotations). Photos 1-5 of each person are enrolled, photos
# 6-10 verified against every enrolled person, all with --detect auto; the same pairs are
# scored again from the original crops. Prints both EERs and the gap, two ways:
#   gallery: each probe's nearest-template distance to each enrolled person (identify --top 8):
#            40 genuine and 280 impostor claims;
#   pairs:   every enrolled photo against every probe photo (evaluate --pairs): 200 genuine and
#            1400 impostor pairs, with the failures to acquire counted;
# and, to tell the two costs apart, the pairs EER of crops cut out of the photos with the
# composer's exact map (perfect detection and alignment: "exact"), and of those with their
# outer 5 pixels taken from the original crop ("exact, crop border": what the photo's
# background adds at the crop's edge).
#   scripts/photo-eval.sh              (EPOCHS=50 SEED=0; OUT=runs/photo-eval)
#   TRAIN_OPTIONS="--inset 0.1" scripts/photo-eval.sh     (more options for train)
# Needs a Python with numpy and Pillow for the composer (PYTHON=..., else .venv-bench/bin/python
# or python3).
set -euo pipefail
cd "$(dirname "$0")/.."
EPOCHS=${EPOCHS:-50}
SEED=${SEED:-0}
TRAIN_OPTIONS=${TRAIN_OPTIONS:-}
OUT=${OUT:-runs/photo-eval}
if [ -z "${PYTHON:-}" ]; then
  if [ -x .venv-bench/bin/python ]; then PYTHON=.venv-bench/bin/python; else PYTHON=python3; fi
fi
D=data/orl
HELD=(s33 s34 s35 s36 s37 s38 s39 s40)

swift build -c release --product facetwin >/dev/null
BIN="$(swift build -c release --show-bin-path)/facetwin"
rm -rf "$OUT" && mkdir -p "$OUT/train-data"
ABS_D="$(cd "$D" && pwd)"
for i in $(seq 1 32); do ln -s "$ABS_D/s$i" "$OUT/train-data/s$i"; done
M="$OUT/model.safetensors"

echo "== train: default recipe on s1-s32 (crops), $EPOCHS epochs, seed $SEED $TRAIN_OPTIONS"
# shellcheck disable=SC2086
"$BIN" train --data "$OUT/train-data" --epochs "$EPOCHS" --seed "$SEED" --out "$M" --quiet $TRAIN_OPTIONS
"$BIN" info --model "$M" | grep -E "^input|training images"

echo "== compose: the 80 crops of ${HELD[*]}, one face a photo, 640x480"
"$PYTHON" scripts/compose-photos.py --orl "$D" --out "$OUT/photos" --identities "$(IFS=,; echo "${HELD[*]}")" \
  --count 80 --two 0 --none 0 --seed 1

# Enroll folders and probe lists (photos 1-5 enrolled, 6-10 probes), photos and crops side by side.
"$PYTHON" - "$OUT" "$ABS_D" <<'EOF'
import json, os, sys
out, orl = sys.argv[1], sys.argv[2]
manifest = json.load(open(os.path.join(out, "photos", "manifest.json")))
enroll, probes = [], []
for p in manifest["photos"]:
    (face,) = p["faces"]
    ident, n = face["identity"], int(os.path.splitext(os.path.basename(face["source"]))[0])
    photo = os.path.abspath(os.path.join(out, "photos", "jpeg", p["photo"] + ".jpg"))
    crop = os.path.join(orl, face["source"])
    (enroll if n <= 5 else probes).append((ident, n, photo, crop))
for kind, col in (("photos", 2), ("crops", 3)):
    for ident, n, *paths in enroll:
        folder = os.path.join(out, "enroll-" + kind, ident)
        os.makedirs(folder, exist_ok=True)
        os.symlink(paths[col - 2], os.path.join(folder, f"{n}{os.path.splitext(paths[col - 2])[1]}"))
    with open(os.path.join(out, "probes-" + kind + ".txt"), "w") as f:
        for ident, n, *paths in sorted(probes):
            f.write(f"{ident} {paths[col - 2]}\n")
    with open(os.path.join(out, "pairs-" + kind + ".csv"), "w") as f:
        f.write("image1,image2,same\n")
        for e in sorted(enroll):
            for p in sorted(probes):
                f.write(f"{e[col]},{p[col]},{int(e[0] == p[0])}\n")
EOF

# Crops cut out of the (PPM) photos through the composer's affine map, and the same with their
# outer 5 pixels from the original crop; pair lists with the same pairs.
"$PYTHON" - "$OUT" "$ABS_D" <<'EOF'
import json, os, sys
import numpy as np
from PIL import Image
out, orl = sys.argv[1], sys.argv[2]
manifest = json.load(open(os.path.join(out, "photos", "manifest.json")))
for p in manifest["photos"]:
    (face,) = p["faces"]
    photo = Image.open(os.path.join(out, "photos", "ppm", p["photo"] + ".ppm")).convert("L")
    (a, b, tx), (c, d, ty) = face["affine"]
    w0, h0 = face["crop_size"]
    # Output pixel centre (i + 0.5, j + 0.5) of the crop maps to the photo point m(i + 0.5, j + 0.5).
    exact = photo.transform((w0, h0), Image.Transform.AFFINE,
                            (a, b, tx + 0.5 * (a + b) - 0.5, c, d, ty + 0.5 * (c + d) - 0.5),
                            resample=Image.Resampling.BILINEAR)
    original = np.asarray(Image.open(os.path.join(orl, face["source"])).convert("L"))
    inner = np.zeros(original.shape, bool)
    inner[5:-5, 5:-5] = True
    bordered = np.where(inner, np.asarray(exact), original).astype(np.uint8)
    for kind, image in (("exact", exact), ("exact-border", Image.fromarray(bordered))):
        folder = os.path.join(out, kind, face["identity"])
        os.makedirs(folder, exist_ok=True)
        image.save(os.path.join(folder, os.path.basename(face["source"])))
lines = open(os.path.join(out, "pairs-crops.csv")).read().splitlines()
for kind in ("exact", "exact-border"):
    with open(os.path.join(out, f"pairs-{kind}.csv"), "w") as f:
        f.write(lines[0] + "\n")
        for line in lines[1:]:
            f.write(line.replace(orl, os.path.abspath(os.path.join(out, kind))) + "\n")
EOF
for kind in exact exact-border; do
  "$BIN" evaluate --model "$M" --pairs "$OUT/pairs-$kind.csv" --detect never --bootstrap 0 --json >"$OUT/evaluate-$kind.json" 2>/dev/null
done

for kind in crops photos; do
  G="$OUT/gallery-$kind.sqlite"
  "$BIN" enroll --gallery "$G" --model "$M" --folder "$OUT/enroll-$kind" --detect auto >"$OUT/enroll-$kind.txt"
  : >"$OUT/scores-$kind.txt"
  while read -r ident probe; do
    # Exit 1 is "unknown" (the threshold does not matter here, only the distances), not an error.
    "$BIN" identify --gallery "$G" --top 8 --threshold 1 --detect auto --json "$probe" >"$OUT/identify.json" || [ $? -eq 1 ]
    "$PYTHON" -c 'import json,sys
r=json.load(open(sys.argv[1]))
for c in r["candidates"]: print(sys.argv[2], c["name"], c["distance"])' "$OUT/identify.json" "$ident" >>"$OUT/scores-$kind.txt"
  done <"$OUT/probes-$kind.txt"
  "$BIN" evaluate --model "$M" --pairs "$OUT/pairs-$kind.csv" --detect auto --bootstrap 0 --json >"$OUT/evaluate-$kind.json"
done

"$PYTHON" - "$OUT" <<'EOF'
import json, os, sys
out = sys.argv[1]

def eer(genuine, impostor):
    """EER by sweeping every distance as a threshold: the point where FMR and FNMR cross
    (mean of the two at the threshold that minimises their difference)."""
    best = None
    for t in sorted(set(genuine + impostor)):
        fnmr = sum(g > t for g in genuine) / len(genuine)
        fmr = sum(i <= t for i in impostor) / len(impostor)
        if best is None or abs(fmr - fnmr) < best[0]:
            best = (abs(fmr - fnmr), (fmr + fnmr) / 2)
    return best[1]

figures = {}
for kind in ("crops", "photos"):
    g, i = [], []
    for line in open(os.path.join(out, f"scores-{kind}.txt")):
        truth, name, d = line.split()
        (g if truth == name else i).append(float(d))
    ev = json.load(open(os.path.join(out, f"evaluate-{kind}.json")))
    figures[kind] = (eer(g, i), len(g), len(i), ev)
for kind in ("crops", "photos"):
    e, ng, ni, ev = figures[kind]
    fta = ev.get("failuresToAcquire")
    print(f"{kind:6s}  gallery EER {100 * e:5.2f} % ({ng} genuine, {ni} impostor claims)   "
          f"pairs EER {100 * ev['eer']:5.2f} % ({ev['genuinePairs']} genuine, {ev['impostorPairs']} impostor pairs)"
          + (f"   FTA {len(fta)} of {ev['attemptedImages']} images" if fta is not None else ""))
for kind, what in (("exact", "photos cut out exactly"), ("exact-border", "the same, crop border")):
    ev = json.load(open(os.path.join(out, f"evaluate-{kind}.json")))
    print(f"{what:28s}  pairs EER {100 * ev['eer']:5.2f} % ({ev['genuinePairs']} genuine, {ev['impostorPairs']} impostor pairs)")
gap_gallery = 100 * (figures["photos"][0] - figures["crops"][0])
gap_pairs = 100 * (figures["photos"][3]["eer"] - figures["crops"][3]["eer"])
print(f"gap (photos - crops): gallery {gap_gallery:+.2f} points, pairs {gap_pairs:+.2f} points")
EOF
