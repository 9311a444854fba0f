#!/usr/bin/env python3
"""Fixtures for FaceTwin's safetensors and verification-metrics tests. Run by a developer, not by CI.

    python scripts/make-safetensors-fixture.py              # (re)write both committed fixtures
    python scripts/make-safetensors-fixture.py --dump FILE  # print a safetensors file as Python reads it

Needs torch (a CPU build), numpy, safetensors, and pillow (the metrics fixture takes `eer_auc`
from facetwin_torch.py, the PyTorch reference).

1. Tests/FaceTwinTests/Fixtures/safetensors/python.safetensors, written by
   `safetensors.torch.save_file`: F32, F16, BF16, F64, I32 tensors, an I64 scalar (shape [],
   like BatchNorm's num_batches_tracked), an empty F32 tensor, and metadata with quotes,
   unicode and a newline. The values are chosen to be exact or to have a known rounding
   (SafeTensorsTests hard-codes them): F16/BF16 subnormals, ±inf, NaN, the largest finite values.

2. Tests/FaceTwinTests/Fixtures/metrics/reference.json: two cases for MetricsTests, each with
   the expected EER, AUC and best accuracy from the reference's `eer_auc` (no tie grouping; the
   cases have no tied distances, where that equals FaceTwin's grouped ROC):
   - "embeddings": 32 random 5-d float32 embeddings of 8 identities; all 496 pairs (i<j), their
     float32 distances by np.linalg.norm as in the reference's evaluation;
   - "distances": 500 random float32 distances, 150 genuine.

`--dump` is the manual check that a file written by FaceTwin loads in Python safetensors.
"""
import argparse, json, os, sys
import numpy as np
import torch
from safetensors.torch import save_file, load_file
from safetensors import safe_open

from facetwin_torch import eer_auc

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "Tests", "FaceTwinTests", "Fixtures")


def make_safetensors(path):
    inf, nan = float("inf"), float("nan")
    tensors = {
        "weight.f32": torch.tensor([[1.5, -2.25, 0.1], [3.4028234663852886e38, -0.0, 1.401298464324817e-45]],
                                   dtype=torch.float32),
        "half.f16": torch.tensor([0.5, -1.0, 65504.0, 2.0 ** -14, 2.0 ** -24, inf, -inf, nan, 0.1],
                                 dtype=torch.float16),
        "brain.bf16": torch.tensor([[1.0, -3.140625], [3.3895313892515355e38, 0.1]], dtype=torch.bfloat16),
        "double.f64": torch.tensor([0.1, -2.5, 1e-50, 1e300], dtype=torch.float64),
        "ints.i32": torch.tensor([-7, 0, 2147483647], dtype=torch.int32),
        "bn.num_batches_tracked": torch.tensor(1234567890123, dtype=torch.int64),
        "empty.f32": torch.zeros((0, 3), dtype=torch.float32),
    }
    metadata = {"format": "pt", "config": '{"embedding": 5}',
                "note": 'Grüße ✓ "quoted" \\ back\nsecond line'}
    os.makedirs(os.path.dirname(path), exist_ok=True)
    save_file(tensors, path, metadata=metadata)
    os.chmod(path, 0o644)  # safetensors creates it 0600
    print(f"wrote {os.path.relpath(path)} ({os.path.getsize(path)} bytes)")


def f32_list(a):
    # float(np.float32(x)) is the exact double of the float32; its repr parses back exactly.
    return [float(x) for x in np.asarray(a, dtype=np.float32)]


def case(dist, same, eer_auc, **extra):
    dist = np.asarray(dist, dtype=np.float32)
    same = np.asarray(same, dtype=bool)
    assert len(np.unique(dist)) == len(dist), "the cross-check needs distinct distances"
    eer, auc, acc = eer_auc(dist, same)
    return dict(extra, distances=f32_list(dist), genuine=[bool(s) for s in same],
                eer=eer, auc=auc, bestAccuracy=acc)


def make_metrics(path):
    rng = np.random.default_rng(20240611)

    # Embeddings: identity centres plus noise, so genuine pairs tend to be closer.
    n_ids, per_id, dim = 8, 4, 5
    centres = rng.normal(0, 1.0, (n_ids, dim))
    labels = np.repeat(np.arange(n_ids), per_id)
    emb = (centres[labels] + rng.normal(0, 0.8, (len(labels), dim))).astype(np.float32)
    ii, jj = np.triu_indices(len(labels), 1)
    dist = np.linalg.norm(emb[ii] - emb[jj], axis=1)  # float32, exactly as the reference evaluates
    same = labels[ii] == labels[jj]
    embeddings = case(dist, same, eer_auc, dimension=dim, labels=[int(l) for l in labels],
                      embeddings=f32_list(emb.reshape(-1)))

    # Plain distances: genuine ~ |N(1, 0.5)|, impostor ~ |N(1.8, 0.6)|.
    genuine = np.zeros(500, dtype=bool); genuine[rng.permutation(500)[:150]] = True
    d = np.where(genuine, np.abs(rng.normal(1.0, 0.5, 500)), np.abs(rng.normal(1.8, 0.6, 500))).astype(np.float32)
    distances = case(d, genuine, eer_auc)

    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump({"embeddings": embeddings, "distances": distances}, f, separators=(",", ":"))
        f.write("\n")
    for name, c in [("embeddings", embeddings), ("distances", distances)]:
        print(f"{name}: {sum(c['genuine'])} genuine / {len(c['genuine'])} pairs, "
              f"eer={c['eer']!r} auc={c['auc']!r} acc={c['bestAccuracy']!r}")
    print(f"wrote {os.path.relpath(path)} ({os.path.getsize(path)} bytes)")


def dump(path):
    with safe_open(path, framework="pt") as f:
        print("metadata:", json.dumps(f.metadata(), ensure_ascii=False))
    for name, t in load_file(path).items():
        print(f"{name}: dtype={t.dtype} shape={list(t.shape)} values={t.flatten().tolist()}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--dump", metavar="FILE", help="print a safetensors file as Python reads it")
    a = p.parse_args()
    if a.dump:
        dump(a.dump)
        return
    make_safetensors(os.path.join(FIXTURES, "safetensors", "python.safetensors"))
    make_metrics(os.path.join(FIXTURES, "metrics", "reference.json"))


if __name__ == "__main__":
    sys.exit(main())
