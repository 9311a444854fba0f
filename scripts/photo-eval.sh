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
#            1400 impostor pairs, with the failures to acquire counted.
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
gap_gallery = 100 * (figures["photos"][0] - figures["crops"][0])
gap_pairs = 100 * (figures["photos"][3]["eer"] - figures["crops"][3]["eer"])
print(f"gap (photos - crops): gallery {gap_gallery:+.2f} points, pairs {gap_pairs:+.2f} points")
EOF
