#!/usr/bin/env python3
"""`facetwin verify --gallery G --claim NAME PROBE` done with PyTorch, for scripts/bench.sh's cold
verify row: the same work from process start to answer, the model loaded from disk.
    python scripts/bench-verify-torch.py --gallery G --claim NAME [--model M] [--json] [--threads 2] PROBE

The network is the reference's Net (facetwin_torch.py);
the weights and the threshold come from the FaceTwin model file (safetensors with PyTorch's
state-dict names; the threshold is in the metadata's "info" JSON); the model is the one the
gallery records unless --model. The claimed identity's templates are read from the gallery
(SQLite, embeddings as little-endian float32), the probe is decoded and resized like
facetwin_torch.load_image, and the score is the smallest distance to the templates.
Prints the verdict like facetwin verify (or JSON with --json); exit 0 match, 1 no match, 2 error.
"""
import argparse, json, sqlite3, sys

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import load_file

import facetwin_torch as ref

ap = argparse.ArgumentParser()
ap.add_argument("probe"); ap.add_argument("--gallery", required=True); ap.add_argument("--claim", required=True)
ap.add_argument("--model"); ap.add_argument("--json", action="store_true"); ap.add_argument("--threads", type=int, default=2)
a = ap.parse_args()
torch.set_num_threads(a.threads)


def fail(message):
    print(f"bench-verify-torch: {message}", file=sys.stderr)
    sys.exit(2)


db = sqlite3.connect(a.gallery)
meta = db.execute("SELECT model_path, embedding_size FROM gallery_meta WHERE id = 1").fetchone()
if meta is None:
    fail(f"{a.gallery}: not a FaceTwin gallery")
model_path, size = a.model or meta[0], meta[1]
blobs = db.execute("SELECT t.embedding FROM templates t JOIN identities i ON i.id = t.identity_id "
                   "WHERE i.name = ? ORDER BY t.id", (a.claim,)).fetchall()
db.close()
if not blobs:
    fail(f"{a.gallery}: no templates for {a.claim!r}")
templates = np.stack([np.frombuffer(b, dtype="<f4") for (b,) in blobs])
if templates.shape[1] != size:
    fail(f"{a.gallery}: templates of {templates.shape[1]} values, expected {size}")

with safe_open(model_path, "pt") as f:
    info = json.loads((f.metadata() or {}).get("info", "{}"))
threshold, config = info.get("threshold"), info.get("config", {})
if threshold is None:
    fail(f"{model_path}: no threshold in the model's metadata")
reference = dict(channels=[4, 8, 8], hidden=[500, 500], embeddingSize=5, inputHeight=100, inputWidth=100)
if any(config.get(k) != v for k, v in reference.items()):
    fail(f"{model_path}: not the reference architecture facetwin_torch.Net builds ({config})")

net = ref.Net()
net.load_state_dict(load_file(model_path))
net.eval()

x = ref.load_image(a.probe, config["inputHeight"], config["inputWidth"])
if config.get("invert"):
    x = 1 - x
with torch.no_grad():
    e = net.forward_once(torch.from_numpy(x)[None, None]).numpy()[0]
d = np.sqrt(((templates.astype(np.float64) - e.astype(np.float64)) ** 2).sum(axis=1))
distance = float(d.min())
match = distance <= threshold
if a.json:
    print(json.dumps({"probe": a.probe, "claim": a.claim, "distance": distance, "threshold": threshold,
                      "isMatch": bool(match), "score": "min", "templatesCompared": len(d)}))
else:
    print(f"{'MATCH' if match else 'NO MATCH'} {a.claim}  distance {distance:.4f}  threshold {threshold:.4f}  "
          f"(min over {len(d)} templates)")
sys.exit(0 if match else 1)
