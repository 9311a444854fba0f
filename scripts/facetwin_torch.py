#!/usr/bin/env python3
"""FaceTwin's PyTorch reference: the classic PyTorch siamese-network ORL tutorial, exactly.

The one PyTorch definition of the reference recipe in this repository. FaceTwin's golden
fixtures (make-golden.py) and the PyTorch side of every benchmark (bench-torch.py,
bench-embed-pairs.py, bench-verify-torch.py, bench.sh) import it:

    Net(height=100, width=100, channels=(4, 8, 8), hidden=(500, 500), embedding=5)
        3 x [ReflectionPad2d(1), Conv2d 3x3, ReLU, BatchNorm2d] (module `cnn1`), then
        Linear 80000->500, ReLU, Linear 500->500, ReLU, Linear 500->5 (module `fc1`);
        forward_once(x) embeds a batch [N, 1, H, W], forward(x1, x2) both twins.
    DefaultNet(channels=(16, 32, 64, 64), embedding=64, scale=1.0)
        the default recipe's twin: 4 x [ReflectionPad2d(1), Conv2d 3x3, ReLU, BatchNorm2d,
        MaxPool2d(2)], global average pool, Linear to the embedding, L2-normalised.
    run_default(root, train, test, ...)      the default recipe (no augmentation) in PyTorch
    contrastive(o1, o2, label, margin=2.0)   contrastive loss, label 1 = different
    ContrastiveLoss(margin=2.0)              the same as an nn.Module
    load_image(path, height=100, width=100)  Pillow: convert("L"), bilinear resize, / 255
    load_folder(root, subjects)              every PGM of those identity folders, with labels
    sample_pairs(y, n, rng)                  balanced pairs drawn on the fly (half same, half different)
    eer_auc(dist, same)                      EER, ROC AUC and best accuracy of distances
    subjects(root), subject_folds(...)       identity folders in natural order, subject-disjoint folds
    run(root, train, test, epochs, batch, seed)  train with Adam 5e-4, evaluate all held-out pairs

Run as a script, it trains the reference recipe in PyTorch and prints JSON: training speed,
embeddings/s, and EER / AUC / best accuracy on identities never seen in training.

    python scripts/facetwin_torch.py [ORL_DIR] [--epochs 50] [--batch 32] [--test s5,s6,s7] [--seed 0]
    python scripts/facetwin_torch.py --folds 5                     # subject-disjoint 5-fold protocol
    python scripts/facetwin_torch.py --fold-identities "s1,s8;s3,s9"  # the given test folds, e.g. from
                                                                   # `facetwin crossval --json`
ORL_DIR defaults to data/orl in this repository. Needs torch, numpy and pillow.
"""
import argparse, json, math, os, random, time
import numpy as np
import torch, torch.nn as nn, torch.nn.functional as F
from PIL import Image

ORL = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data", "orl")


def load_image(path, height=100, width=100):
    """The reference's preprocessing: grey, bilinear resize as Pillow does it, scaled to [0, 1]."""
    im = Image.open(path).convert("L").resize((width, height), Image.BILINEAR)
    return np.asarray(im, dtype=np.float32) / 255.0


def load_folder(root, subjects):
    """Every .pgm in root/<subject>/ (sorted by name), as x [N, 1, 100, 100] and labels y [N]."""
    imgs = []
    for label, s in enumerate(subjects):
        d = os.path.join(root, s)
        for fn in sorted(os.listdir(d)):
            if fn.lower().endswith(".pgm"):
                imgs.append((load_image(os.path.join(d, fn)), label))
    x = torch.from_numpy(np.stack([a for a, _ in imgs]))[:, None]
    y = torch.tensor([l for _, l in imgs])
    return x, y


class MonotoneHead(nn.Sequential):
    """FaceTwin's sigmoid score head before the sigmoid: BatchNorm1d(1) then Linear(1, 1), whose
    scale and weight on the distance are the softplus of the stored parameters, so the score
    rises with the distance whatever the parameters are. The state-dict names are those of
    nn.Sequential(nn.BatchNorm1d(1), nn.Linear(1, 1)); the raw BatchNorm weight starts at
    softplus^-1(1), so the head starts as a plain BatchNorm1d does."""

    def __init__(self):
        super().__init__(nn.BatchNorm1d(1), nn.Linear(1, 1))
        with torch.no_grad():
            self[0].weight.fill_(math.log(math.e - 1))

    def forward(self, d):
        bn, dense = self[0], self[1]
        if self.training:
            bn.num_batches_tracked.add_(1)
        y = F.batch_norm(d, bn.running_mean, bn.running_var, F.softplus(bn.weight), bn.bias, self.training,
                         bn.momentum, bn.eps)
        return F.linear(y, F.softplus(dense.weight), dense.bias)


class Net(nn.Module):
    """The tutorial's twin network; the defaults are the reference recipe. Parameter names are
    the ones FaceTwin's model files use (cnn1.1.weight, cnn1.3.running_var, fc1.0.weight, ...)."""

    def __init__(self, height=100, width=100, channels=(4, 8, 8), hidden=(500, 500), embedding=5, in_channels=1,
                 head="distance"):
        super().__init__()
        layers, cin = [], in_channels
        for c in channels:
            layers += [nn.ReflectionPad2d(1), nn.Conv2d(cin, c, 3), nn.ReLU(inplace=True), nn.BatchNorm2d(c)]
            cin = c
        self.cnn1 = nn.Sequential(*layers)
        mlp, width_in = [], cin * height * width
        for k in hidden:
            mlp += [nn.Linear(width_in, k), nn.ReLU(inplace=True)]
            width_in = k
        mlp.append(nn.Linear(width_in, embedding))
        self.fc1 = nn.Sequential(*mlp)
        # FaceTwin's --head sigmoid: the pair distance through BatchNorm1d(1) and Linear(1, 1),
        # monotone (MonotoneHead).
        if head == "sigmoid":
            self.head = MonotoneHead()

    def forward_once(self, x):
        return self.fc1(self.cnn1(x).flatten(1))

    def score(self, o1, o2):
        """The sigmoid head's score of each pair, [B, 1] in (0, 1), small for similar pairs."""
        return torch.sigmoid(self.head(F.pairwise_distance(o1, o2, keepdim=True)))

    def forward(self, x1, x2):
        return self.forward_once(x1), self.forward_once(x2)


class Affine(nn.Module):
    """dlib's affine layer (convolutional mode): y = weight[c] * x + bias[c] per channel."""

    def __init__(self, channels):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x):
        return x * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)


def add_prev(a, b):
    """dlib's add_prev: the larger of both shapes in channels, rows and columns, each input
    added where it has elements (the rest zero)."""
    shape = [max(p, q) for p, q in zip(a.shape[1:], b.shape[1:])]

    def grow(t):
        return F.pad(t, (0, shape[2] - t.shape[3], 0, shape[1] - t.shape[2], 0, shape[0] - t.shape[1]))

    return grow(a) + grow(b)


class ResidualBlock(nn.Module):
    """conv 3x3 (stride s; dlib's padding: 1 at stride 1, else 0) -> affine -> relu -> conv 3x3
    -> affine, plus the input (through a 2x2 average pool at stride 2), relu."""

    def __init__(self, cin, out, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, out, 3, stride=stride, padding=1 if stride == 1 else 0)
        self.affine1 = Affine(out)
        self.conv2 = nn.Conv2d(out, out, 3, padding=1)
        self.affine2 = Affine(out)
        self.stride = stride

    def forward(self, x):
        r = self.affine2(self.conv2(F.relu(self.affine1(self.conv1(x)))))
        shortcut = x if self.stride == 1 else F.avg_pool2d(x, 2, 2)
        return F.relu(add_prev(r, shortcut))


class DlibResNet(nn.Module):
    """dlib's face-recognition ResNet (anet_type of dlib's dnn_face_recognition_ex.cpp) from the
    architecture FaceTwin's model file records (its `architecture` metadata, as a dict), with the
    file's tensor names: FaceTwin's DlibResNet. Input: RGB chips in [0, 1], scaled as dlib's
    input_rgb_image_sized does; output: the raw descriptor."""

    def __init__(self, architecture):
        super().__init__()
        a = architecture
        self.mean = torch.tensor(a["input"]["mean_rgb"]).view(1, 3, 1, 1)
        self.scale = a["input"]["scale"]
        s = a["stem"]
        self.conv1 = nn.Conv2d(3, s["out"], s["kernel"], stride=s["stride"], padding=s["padding"])
        self.affine1 = Affine(s["out"])
        self.pool = (s["pool"]["kernel"], s["pool"]["stride"])
        blocks, channels = [], s["out"]
        for b in a["blocks"]:
            blocks.append(ResidualBlock(channels, b["out"], b["stride"]))
            channels = max(channels, b["out"])
        self.blocks = nn.ModuleList(blocks)
        self.fc = nn.Linear(channels, a["embedding"], bias=False)
        # A fine-tuned model's learned score head ("head": "sigmoid" in the architecture).
        if a.get("head") == "sigmoid":
            self.head = MonotoneHead()

    def forward(self, x):
        x = (x * 255 - self.mean) * self.scale
        x = F.max_pool2d(F.relu(self.affine1(self.conv1(x))), *self.pool)
        for block in self.blocks:
            x = block(x)
        return self.fc(x.mean(dim=(2, 3)))

    def score(self, o1, o2):
        """The sigmoid head's score of each pair, [B, 1], small for similar pairs."""
        return torch.sigmoid(self.head(F.pairwise_distance(o1, o2, keepdim=True)))


def fine_tuning_optimizer(net, lr, backbone_scale):
    """FaceTwin's fine-tuning of dlib's ResNet (ResNetFineTuner): Adam with the backbone at
    backbone_scale x lr and the score head, if any, at lr."""
    head = [p for n, p in net.named_parameters() if n.startswith("head.")]
    backbone = [p for n, p in net.named_parameters() if not n.startswith("head.")]
    groups = [{"params": backbone, "lr": lr * backbone_scale}]
    if head:
        groups.append({"params": head, "lr": lr})
    return torch.optim.Adam(groups)


def contrastive(o1, o2, label, margin=2.0):
    """Mean of (1 - label) d² + label max(margin - d, 0)², label 1 = different identities."""
    d = F.pairwise_distance(o1, o2, keepdim=True)
    return torch.mean((1 - label) * d.pow(2) + label * torch.clamp(margin - d, min=0).pow(2))


def sigmoid_contrastive(score, label, margin=1.0):
    """The Keras recipe's loss on the sigmoid head's score: the contrastive form, margin 1."""
    return torch.mean((1 - label) * score.pow(2) + label * torch.clamp(margin - score, min=0).pow(2))


class ContrastiveLoss(nn.Module):
    def __init__(self, margin=2.0):
        super().__init__()
        self.margin = margin

    def forward(self, o1, o2, label):
        return contrastive(o1, o2, label, self.margin)


class DefaultNet(nn.Module):
    """The default recipe's twin: 4 x [ReflectionPad2d(1), Conv2d 3x3, ReLU, BatchNorm2d,
    MaxPool2d(2)] and a global average pool (module `cnn1`), one Linear to the embedding
    (module `fc1`), the embedding L2-normalised and scaled. State-dict names are FaceTwin's:
    cnn1.1.weight, cnn1.3.running_var, cnn1.6.weight, ..., fc1.0.weight."""

    def __init__(self, channels=(16, 32, 64, 64), embedding=64, scale=1.0, in_channels=1):
        super().__init__()
        layers, cin = [], in_channels
        for c in channels:
            layers += [nn.ReflectionPad2d(1), nn.Conv2d(cin, c, 3), nn.ReLU(inplace=True), nn.BatchNorm2d(c), nn.MaxPool2d(2)]
            cin = c
        layers.append(nn.AdaptiveAvgPool2d(1))
        self.cnn1 = nn.Sequential(*layers)
        self.fc1 = nn.Sequential(nn.Linear(cin, embedding))
        self.scale = scale

    def forward_once(self, x):
        return self.scale * F.normalize(self.fc1(self.cnn1(x).flatten(1)), dim=1)

    def forward(self, x1, x2):
        return self.forward_once(x1), self.forward_once(x2)


def standardise(x):
    """Per-image standardisation: mean 0, standard deviation 1 over each image's pixels."""
    m = x.mean(dim=(1, 2, 3), keepdim=True)
    v = ((x - m) ** 2).mean(dim=(1, 2, 3), keepdim=True)
    return (x - m) / (v.sqrt() + 1e-5)


def mine_pairs(emb, ids, rng, hard_share=0.5):
    """Every genuine pair of a batch and as many impostor pairs, hard_share of them the closest."""
    n = len(ids); ii, jj = np.triu_indices(n, 1); same = ids[ii] == ids[jj]
    gi, gj = ii[same], jj[same]; ni, nj = ii[~same], jj[~same]
    with torch.no_grad():
        d = (emb[ni] - emb[nj]).norm(dim=1).numpy()
    want = min(len(gi), len(ni)); hard = int(round(want * hard_share))
    order = np.argsort(d, kind="stable"); chosen = list(order[:hard])
    rest = order[hard:]; chosen += list(rng.choice(rest, want - hard, replace=False))
    a = np.concatenate([gi, ni[chosen]]); b = np.concatenate([gj, nj[chosen]])
    lab = torch.cat([torch.zeros(len(gi)), torch.ones(want)])
    return a, b, lab


def run_default(root, train_s, test_s, epochs=50, batch=32, seed=0, lr=2e-3, size=64, weight_decay=1e-4):
    """The default recipe in PyTorch, without augmentation (timing and a quality cross-check):
    standardised 64x64 input, batches of batch/2 identities x 4 images with mined balanced
    pairs, AdamW with a linear warm-up over 2 epochs and a cosine decay, flip-averaged test embeddings."""
    torch.manual_seed(seed); rng = np.random.default_rng(seed)
    def load(subjects):
        x, y = [], []
        for label, s in enumerate(subjects):
            for fn in sorted(os.listdir(os.path.join(root, s))):
                if fn.lower().endswith(".pgm"):
                    x.append(load_image(os.path.join(root, s, fn), size, size)); y.append(label)
        return standardise(torch.from_numpy(np.stack(x))[:, None]), np.array(y)
    xtr, ytr = load(train_s); xte, yte = load(test_s)
    net = DefaultNet(); opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=weight_decay)
    steps = (len(ytr) + batch - 1) // batch; total = epochs * steps; warm = 2 * steps
    P, K = batch // 2, 4; ids = np.unique(ytr); t0 = time.perf_counter(); step = 0
    for ep in range(epochs):
        for _ in range(steps):
            rate = lr * min(1.0, (step + 1) / warm) * 0.5 * (1 + np.cos(np.pi * step / total))
            for g in opt.param_groups: g["lr"] = rate
            chosen = rng.choice(ids, min(P, len(ids)), replace=False)
            sel = np.concatenate([rng.choice(np.where(ytr == c)[0], K, replace=False) for c in chosen])
            emb = net.forward_once(xtr[sel]); a, b, lab = mine_pairs(emb, ytr[sel], rng)
            loss = contrastive(emb[a], emb[b], lab[:, None])
            opt.zero_grad(); loss.backward(); opt.step(); step += 1
    train_seconds = time.perf_counter() - t0
    net.eval()
    with torch.no_grad():
        e = (net.forward_once(xte) + net.forward_once(torch.flip(xte, dims=[3]))).numpy() / 2
    ii, jj = np.triu_indices(len(e), 1)
    eer, auc, acc = eer_auc(np.linalg.norm(e[ii] - e[jj], axis=1), yte[ii] == yte[jj])
    return dict(train_seconds=train_seconds, ms_per_iter=1000 * train_seconds / total, eer=eer, auc=auc, best_acc=acc)


def sample_pairs(y, n, rng):
    """Balanced on the fly: half same identity, half different (label 1 = different)."""
    idx = np.arange(len(y)); yn = y.numpy()
    a = rng.integers(0, len(y), n); b = np.empty(n, dtype=np.int64); lab = np.empty(n, dtype=np.float32)
    for i in range(n):
        same = rng.integers(0, 2) == 1
        pool = idx[(yn == yn[a[i]]) & (idx != a[i])] if same else idx[yn != yn[a[i]]]
        b[i] = rng.choice(pool); lab[i] = 0.0 if same else 1.0
    return a, b, torch.from_numpy(lab)[:, None]


def eer_auc(dist, same):
    """dist: distances, same: bool. Returns EER, AUC, best accuracy."""
    order = np.argsort(dist)
    d, s = dist[order], same[order]
    P, N = s.sum(), (~s).sum()
    tp = np.cumsum(s); fp = np.cumsum(~s)
    tpr = np.concatenate([[0], tp / P]); fpr = np.concatenate([[0], fp / N])
    fnr = 1 - tpr
    i = np.argmin(np.abs(fnr - fpr)); eer = (fnr[i] + fpr[i]) / 2
    auc = np.trapezoid(tpr, fpr)
    acc = np.max((tp + (N - fp)) / (P + N))
    return float(eer), float(auc), float(acc)


def run(root, train_s, test_s, epochs, batch, seed, lr=5e-4):
    """Trains on train_s (epochs of as many pairs as training images), then scores all pairs of
    test_s's images; returns speed and quality figures."""
    torch.manual_seed(seed); rng = np.random.default_rng(seed)
    xtr, ytr = load_folder(root, train_s)
    xte, yte = load_folder(root, test_s)
    net = Net(); opt = torch.optim.Adam(net.parameters(), lr=lr)
    iters_per_epoch = (len(ytr) + batch - 1) // batch
    t0 = time.perf_counter(); losses = []
    for ep in range(epochs):
        for it in range(iters_per_epoch):
            a, b, lab = sample_pairs(ytr, batch, rng)
            opt.zero_grad()
            o1, o2 = net.forward_once(xtr[a]), net.forward_once(xtr[b])
            loss = contrastive(o1, o2, lab); loss.backward(); opt.step()
            losses.append(loss.item())
    train_s_total = time.perf_counter() - t0
    n_iter = epochs * iters_per_epoch
    net.eval()
    with torch.no_grad():
        t1 = time.perf_counter(); emb = net.forward_once(xte); t_inf = time.perf_counter() - t1
        big = xte.repeat(8, 1, 1, 1); t2 = time.perf_counter(); net.forward_once(big); t_big = time.perf_counter() - t2
    e = emb.numpy(); n = len(e); yy = yte.numpy()
    ii, jj = np.triu_indices(n, 1)
    dist = np.linalg.norm(e[ii] - e[jj], axis=1); same = yy[ii] == yy[jj]
    eer, auc, acc = eer_auc(dist, same)
    return dict(train_seconds=train_s_total, iterations=n_iter, ms_per_iter=1000 * train_s_total / n_iter,
                pairs_per_s=n_iter * batch / train_s_total, embed_per_s=len(big) / t_big,
                first_loss=float(np.mean(losses[:10])), last_loss=float(np.mean(losses[-10:])),
                eer=eer, auc=auc, best_acc=acc, genuine=int(same.sum()), impostor=int((~same).sum()))


def subjects(root):
    """The identity folders of root, s1, s2, ..., s40 in numeric order."""
    names = sorted(os.listdir(root), key=lambda s: int(s[1:]) if s[1:].isdigit() else 0)
    return [s for s in names if os.path.isdir(os.path.join(root, s))]


def subject_folds(names, folds=0, seed=0, fold_identities=""):
    """Test folds: the given ones ("s1,s8;s3,s9"), else `folds` folds of a seeded shuffle."""
    if fold_identities:
        return [f.split(",") for f in fold_identities.split(";")]
    order = names[:]; random.Random(seed).shuffle(order)
    return [order[f::folds] for f in range(folds)]


def main():
    p = argparse.ArgumentParser(description="Train and evaluate the reference recipe in PyTorch.")
    p.add_argument("root", nargs="?", default=ORL, help="identity folders (default: data/orl)")
    p.add_argument("--epochs", type=int, default=50); p.add_argument("--batch", type=int, default=32)
    p.add_argument("--test", default="s5,s6,s7"); p.add_argument("--seed", type=int, default=0)
    p.add_argument("--folds", type=int, default=0); p.add_argument("--threads", type=int, default=2)
    p.add_argument("--recipe", choices=["reference", "default"], default="reference",
                   help="reference: the tutorial's recipe; default: DefaultNet with run_default")
    p.add_argument("--fold-identities", default="",
                   help="explicit test folds, ';' between folds, ',' between identities (e.g. from facetwin crossval --json)")
    a = p.parse_args(); torch.set_num_threads(a.threads)
    names = subjects(a.root)
    if a.folds or a.fold_identities:
        folds = subject_folds(names, a.folds, a.seed, a.fold_identities)
        res = []
        for f, test in enumerate(folds):
            train = [s for s in names if s not in test]
            runner = run_default if a.recipe == "default" else run
            r = runner(a.root, train, test, a.epochs, a.batch, a.seed + f); r["fold"] = f; res.append(r)
            print(json.dumps(r), flush=True)
        print(json.dumps({m: float(np.mean([r[m] for r in res])) for m in ["eer", "auc", "best_acc", "ms_per_iter"]}))
    else:
        test = a.test.split(","); train = [s for s in names if s not in test]
        runner = run_default if a.recipe == "default" else run
        print(json.dumps(runner(a.root, train, test, a.epochs, a.batch, a.seed)))


if __name__ == "__main__":
    main()
