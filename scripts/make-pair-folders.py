#!/usr/bin/env python3
"""Builds a pair-folder dataset (the Keras siamese recipe's layout) from ORL's identity folders.

    .venv-bench/bin/python scripts/make-pair-folders.py OUT [--orl data/orl]
        [--holdout s33,s34,s35,s36,s37,s38,s39,s40] [--pairs-per-person 20] [--quality 95] [--seed 0]

Writes OUT/train/ and OUT/val/, each a root of pair folders 0000/, 0001/, ... holding a.jpg
and b.jpg, and an annos.csv (pandas' layout: an index column, then label) whose label column
gives, row by row in the sorted order of the pair folders, 1 for a similar pair (the same
person) and 0 for a different one: the Keras convention, which FaceTwin reads with
--pair-folders. Every image is ORL's grey PGM converted to RGB (the channel replicated three
times) and written by Pillow's JPEG encoder (libjpeg) at --quality.

The held-out people's pairs are all in val/ and only there: val/ holds every same-person pair of
each held-out person (45 a person) and as many different-person pairs among held-out people;
train/ holds, for each other person, --pairs-per-person same-person pairs and as many
different-person pairs with another training person, drawn with --seed. A backbone that is to
be judged on val/ must be trained with the same people held out (facetwin train --holdout).
"""
import argparse, csv, itertools, os, random

from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def people(orl):
    names = [n for n in os.listdir(orl) if os.path.isdir(os.path.join(orl, n)) and not n.startswith(".")]
    return sorted(names, key=lambda n: (len(n), n))


def images(orl, person):
    return sorted((f for f in os.listdir(os.path.join(orl, person)) if f.endswith(".pgm")), key=lambda f: (len(f), f))


def write(out, pairs, orl, quality):
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "annos.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["", "label"])
        for k, (a, b, same) in enumerate(pairs):
            folder = os.path.join(out, f"{k:04d}")
            os.makedirs(folder, exist_ok=True)
            for name, (person, image) in (("a.jpg", a), ("b.jpg", b)):
                Image.open(os.path.join(orl, person, image)).convert("RGB").save(
                    os.path.join(folder, name), "JPEG", quality=quality)
            w.writerow([k, 1 if same else 0])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--orl", default=os.path.join(ROOT, "data", "orl"))
    ap.add_argument("--holdout", default="s33,s34,s35,s36,s37,s38,s39,s40")
    ap.add_argument("--pairs-per-person", type=int, default=20)
    ap.add_argument("--quality", type=int, default=95)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    everyone = people(a.orl)
    held = [p for p in a.holdout.split(",") if p]
    unknown = set(held) - set(everyone)
    if unknown:
        raise SystemExit(f"make-pair-folders: {a.orl} has no {', '.join(sorted(unknown))}")
    train_people = [p for p in everyone if p not in held]
    files = {p: images(a.orl, p) for p in everyone}

    train = []
    for p in train_people:
        for _ in range(a.pairs_per_person):
            i, j = rng.sample(files[p], 2)
            train.append(((p, i), (p, j), True))
            q = rng.choice([o for o in train_people if o != p])
            train.append(((p, rng.choice(files[p])), (q, rng.choice(files[q])), False))
    rng.shuffle(train)

    val = [((p, i), (p, j), True) for p in held for i, j in itertools.combinations(files[p], 2)]
    genuine = len(val)
    for _ in range(genuine):
        p, q = rng.sample(held, 2)
        val.append(((p, rng.choice(files[p])), (q, rng.choice(files[q])), False))
    rng.shuffle(val)

    write(os.path.join(a.out, "train"), train, a.orl, a.quality)
    write(os.path.join(a.out, "val"), val, a.orl, a.quality)
    print(f"{a.out}/train: {len(train)} pairs of {len(train_people)} people; "
          f"{a.out}/val: {len(val)} pairs ({genuine} similar) of {len(held)} held-out people ({','.join(held)})")


if __name__ == "__main__":
    main()
