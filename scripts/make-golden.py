#!/usr/bin/env python3
"""Golden fixtures from PyTorch for FaceTwin's parity tests. Run by a developer, not by CI.

    python scripts/make-golden.py                  # small training-step fixture (committed)
    python scripts/make-golden.py --out FILE       # the same fixture written elsewhere (to compare)
    python scripts/make-golden.py --full OUT_DIR   # full-size model + ORL embeddings (not committed)
    python scripts/make-golden.py --sigmoid        # one training step of the sigmoid head (committed)
    python scripts/make-golden.py --resnet         # dlib's ResNet, narrow: forward and gradients (committed)
    python scripts/make-golden.py --resnet-head    # its fine-tuning step under a sigmoid head (committed)

Needs torch (a CPU build: pip install torch==2.13.0+cpu), numpy, pillow, safetensors.

The network and loss are facetwin_torch.py's (the reference recipe: reflection-padded 3-block CNN,
MLP, contrastive loss with margin 2, Adam 5e-4). The small fixture is that architecture at a
reduced input size and width, so that it stays well under 1 MiB:
fixed weights (with non-trivial BatchNorm state), a fixed batch of pairs, the embeddings of both
twins, the loss, every parameter's gradient, the parameters and BatchNorm running statistics
after one Adam step, and after a second step on a second batch (which exercises Adam's moments
and bias correction beyond the first step).
"""
import argparse, json, os
import torch, torch.nn as nn
from safetensors.torch import save_file

from facetwin_torch import ORL, DlibResNet, Net, contrastive, fine_tuning_optimizer, load_image, sigmoid_contrastive

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE = os.path.join(HERE, "..", "Tests", "FaceTwinTests", "Fixtures", "golden", "train_step.safetensors")
RESNET_FIXTURE = os.path.join(HERE, "..", "Tests", "FaceTwinTests", "Fixtures", "golden", "resnet_step.safetensors")
RESNET_HEAD_FIXTURE = os.path.join(HERE, "..", "Tests", "FaceTwinTests", "Fixtures", "golden", "resnet_head_step.safetensors")
SIGMOID_FIXTURE = os.path.join(HERE, "..", "Tests", "FaceTwinTests", "Fixtures", "golden", "sigmoid_step.safetensors")


def randomize_batchnorm(net, g):
    """PyTorch's BatchNorm starts at weight 1, bias 0, mean 0, var 1; a golden test of the
    formulas needs other values."""
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5, generator=g)
                m.bias.uniform_(-0.3, 0.3, generator=g)
                m.running_mean.uniform_(-0.2, 0.2, generator=g)
                m.running_var.uniform_(0.5, 2.0, generator=g)
                m.num_batches_tracked.fill_(3)


def small_fixture(path):
    cfg = dict(inputHeight=12, inputWidth=10, channels=[4, 8, 8], hidden=[24, 16], embeddingSize=5,
               batch=4, margin=2.0, lr=5e-4)
    torch.manual_seed(1234)
    g = torch.Generator().manual_seed(99)
    net = Net(height=cfg["inputHeight"], width=cfg["inputWidth"], channels=cfg["channels"], hidden=cfg["hidden"],
              embedding=cfg["embeddingSize"])
    randomize_batchnorm(net, g)
    net.train()
    opt = torch.optim.Adam(net.parameters(), lr=cfg["lr"])
    b, h, w = cfg["batch"], cfg["inputHeight"], cfg["inputWidth"]
    out = {}
    for name, t in net.state_dict().items():
        out["init." + name] = t.clone()

    for step in (1, 2):
        x1 = torch.rand(b, 1, h, w, generator=g)
        x2 = torch.rand(b, 1, h, w, generator=g)
        label = torch.tensor([[0.0], [1.0], [1.0], [0.0]])
        opt.zero_grad()
        o1, o2 = net.forward_once(x1), net.forward_once(x2)
        loss = contrastive(o1, o2, label, cfg["margin"])
        loss.backward()
        opt.step()
        p = f"step{step}."
        out[p + "x1"], out[p + "x2"], out[p + "label"] = x1, x2, label.flatten()
        out[p + "o1"], out[p + "o2"] = o1.detach(), o2.detach()
        out[p + "loss"] = loss.detach().reshape(1)
        for name, prm in net.named_parameters():
            out[p + "grad." + name] = prm.grad.clone()
        for name, t in net.state_dict().items():
            out[p + "after." + name] = t.clone()
    # Evaluation mode (running statistics) on the first step's inputs, after the two steps.
    net.eval()
    with torch.no_grad():
        out["eval.o1"] = net.forward_once(out["step1.x1"])
    out = {k: v.contiguous() for k, v in out.items()}
    save_file(out, path, metadata={"config": json.dumps(cfg), "torch": torch.__version__})
    print(f"wrote {path} ({os.path.getsize(path)} bytes, {len(out)} tensors), loss {out['step1.loss'].item():.6f}")


def sigmoid_fixture(path):
    """One Adam step of a colour twin with the sigmoid score head (FaceTwin's --color --head
    sigmoid): 3-channel 10x8 input, non-trivial BatchNorm2d and BatchNorm1d state, a batch of 6
    pairs, the scores, the margin-1 contrastive loss on them, every gradient, and the state after
    the step (running statistics and num_batches_tracked included)."""
    cfg = dict(inputHeight=10, inputWidth=8, inputChannels=3, channels=[4, 6], hidden=[12], embeddingSize=4,
               batch=6, margin=1.0, lr=1e-3)
    torch.manual_seed(4321)
    g = torch.Generator().manual_seed(77)
    net = Net(height=cfg["inputHeight"], width=cfg["inputWidth"], channels=cfg["channels"], hidden=cfg["hidden"],
              embedding=cfg["embeddingSize"], in_channels=cfg["inputChannels"], head="sigmoid")
    randomize_batchnorm(net, g)
    with torch.no_grad():
        bn = net.head[0]
        bn.weight.fill_(1.3)
        bn.bias.fill_(-0.2)
        bn.running_mean.fill_(0.4)
        bn.running_var.fill_(0.7)
        bn.num_batches_tracked.fill_(2)
    net.train()
    opt = torch.optim.Adam(net.parameters(), lr=cfg["lr"])
    b, c, h, w = cfg["batch"], cfg["inputChannels"], cfg["inputHeight"], cfg["inputWidth"]
    out = {"init." + name: t.clone() for name, t in net.state_dict().items()}
    x1 = torch.rand(b, c, h, w, generator=g)
    x2 = torch.rand(b, c, h, w, generator=g)
    label = torch.tensor([[0.0], [1.0], [1.0], [0.0], [1.0], [0.0]])
    opt.zero_grad()
    o1, o2 = net.forward_once(x1), net.forward_once(x2)
    score = net.score(o1, o2)
    loss = sigmoid_contrastive(score, label, cfg["margin"])
    loss.backward()
    opt.step()
    out["x1"], out["x2"], out["label"] = x1, x2, label.flatten()
    out["o1"], out["o2"], out["score"] = o1.detach(), o2.detach(), score.detach().flatten()
    out["loss"] = loss.detach().reshape(1)
    for name, prm in net.named_parameters():
        out["grad." + name] = prm.grad.clone()
    for name, t in net.state_dict().items():
        out["after." + name] = t.clone()
    out = {k: v.contiguous() for k, v in out.items()}
    save_file(out, path, metadata={"config": json.dumps(cfg), "torch": torch.__version__})
    print(f"wrote {path} ({os.path.getsize(path)} bytes, {len(out)} tensors), loss {out['loss'].item():.6f}")


def full_fixture(out_dir, orl):
    """A full-size reference model with PyTorch's default init (seed 0) and non-trivial BatchNorm
    state, written by PyTorch as safetensors, and its embeddings of a few ORL images loaded as
    the reference does (PIL convert L, bilinear resize to 100×100, /255)."""
    os.makedirs(out_dir, exist_ok=True)
    torch.manual_seed(0)
    net = Net()
    randomize_batchnorm(net, torch.Generator().manual_seed(7))
    net.eval()
    names = ["s1/1.pgm", "s2/5.pgm", "s17/3.pgm", "s40/10.pgm"]
    x = torch.stack([torch.from_numpy(load_image(os.path.join(orl, n))) for n in names])[:, None]
    with torch.no_grad():
        emb = net.forward_once(x)
    model = os.path.join(out_dir, "torch_full_model.safetensors")
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, model,
              metadata={"source": "scripts/make-golden.py --full", "torch": torch.__version__})
    expected = os.path.join(out_dir, "torch_full_embeddings.json")
    with open(expected, "w") as f:
        json.dump({"images": names, "embeddings": emb.tolist()}, f, indent=1)
    print(f"wrote {model} and {expected}")


# A narrow instance of dlib's ResNet: stem of 4 (7x7/2, max pool 3x3/2), blocks 4, 8 (stride 2:
# a wider output over a larger pooled shortcut), 8; embedding 6; 24x24 chips: 24 -> 9 -> 4 -> 4 -> 2 -> 2.
RESNET_ARCHITECTURE = {
    "name": "dlib_resnet_v1",
    "input": {"size": 24, "channels": 3, "mean_rgb": [122.782, 117.001, 104.298], "scale": 0.00390625},
    "stem": {"kernel": 7, "stride": 2, "padding": 0, "out": 4, "pool": {"kernel": 3, "stride": 2, "padding": 0}},
    "blocks": [{"out": 4, "stride": 1}, {"out": 8, "stride": 2}, {"out": 8, "stride": 1}],
    "embedding": 6,
}


def resnet_fixture(path):
    """One fine-tuning step of the narrow ResNet: its weights (affine maps away from the
    identity), a batch of two pairs, the embeddings, the contrastive loss (margin 2) and every
    parameter's gradient."""
    torch.manual_seed(4321)
    g = torch.Generator().manual_seed(77)
    net = DlibResNet(RESNET_ARCHITECTURE)
    with torch.no_grad():
        for name, p in net.named_parameters():
            if "affine" in name:
                p.uniform_(0.5, 1.5, generator=g)
    out = {"init." + name: t.clone() for name, t in net.state_dict().items()}
    x1 = torch.rand(2, 3, 24, 24, generator=g)
    x2 = torch.rand(2, 3, 24, 24, generator=g)
    label = torch.tensor([[0.0], [1.0]])
    o1, o2 = net(x1), net(x2)
    loss = contrastive(o1, o2, label, 2.0)
    loss.backward()
    out.update({"x1": x1, "x2": x2, "label": label.flatten(), "o1": o1.detach(), "o2": o2.detach(),
                "loss": loss.detach().reshape(1)})
    for name, p in net.named_parameters():
        out["grad." + name] = p.grad.clone()
    out = {k: v.contiguous() for k, v in out.items()}
    save_file(out, path, metadata={"architecture": json.dumps(RESNET_ARCHITECTURE), "torch": torch.__version__})


def resnet_head_fixture(path):
    """One fine-tuning step of the narrow ResNet under a sigmoid head, as ResNetFineTuner takes
    it: a batch of 8 images (4 pairs), the head's score (BatchNorm over the batch's distances),
    the contrastive loss on it (margin 1), every gradient, and every parameter and the head's
    running statistics after one Adam step with the backbone at 0.1 x the head's learning rate.
    The Float32 weights and images are drawn, then the step runs in float64 and its results are
    stored as Float32: the head's BatchNorm over 4 distances amplifies rounding, and PyTorch's own
    Float32 run of the step is up to 3e-4 (relative) off on some gradient entries, more than
    FaceTwin's Float32 run."""
    torch.manual_seed(97)
    g = torch.Generator().manual_seed(31)
    architecture = dict(RESNET_ARCHITECTURE, head="sigmoid")
    net = DlibResNet(architecture)
    with torch.no_grad():
        for name, p in net.named_parameters():
            if "affine" in name:
                p.uniform_(0.5, 1.5, generator=g)
    out = {"init." + name: t.clone() for name, t in net.state_dict().items() if "num_batches" not in name}
    x1 = torch.rand(4, 3, 24, 24, generator=g)
    x2 = torch.rand(4, 3, 24, 24, generator=g)
    net = net.double()
    net.mean = net.mean.double()
    x1, x2 = x1.double(), x2.double()
    label = torch.tensor([[0.0], [1.0], [0.0], [1.0]], dtype=torch.float64)
    lr, scale = 1e-2, 0.1
    optimizer = fine_tuning_optimizer(net, lr, scale)
    net.train()
    optimizer.zero_grad()
    o1, o2 = net(x1), net(x2)
    score = net.score(o1, o2)
    loss = sigmoid_contrastive(score, label, 1.0)
    loss.backward()
    out.update({"x1": x1, "x2": x2, "label": label.flatten(), "score": score.detach().flatten(),
                "loss": loss.detach().reshape(1), "lr": torch.tensor([lr]), "backbone_scale": torch.tensor([scale])})
    for name, p in net.named_parameters():
        out["grad." + name] = p.grad.clone()
    optimizer.step()
    for name, t in net.state_dict().items():
        if "num_batches" not in name:
            out["after." + name] = t.clone()
    out = {k: v.float().contiguous() for k, v in out.items()}
    save_file(out, path, metadata={"architecture": json.dumps(architecture), "torch": torch.__version__, "dtype": "float64 step"})


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--full", metavar="OUT_DIR", help="write the full-size model and embeddings here instead")
    ap.add_argument("--orl", default=ORL, help="ORL identity folders for --full (default: data/orl)")
    ap.add_argument("--out", help="where the small fixture goes (default: the committed one)")
    ap.add_argument("--sigmoid", action="store_true", help="write the sigmoid head's one-step fixture instead")
    ap.add_argument("--resnet", action="store_true", help="write the narrow ResNet's fixture instead")
    ap.add_argument("--resnet-head", action="store_true", help="write the narrow ResNet's step under a sigmoid head instead")
    a = ap.parse_args()
    torch.set_num_threads(1)
    if a.resnet_head:
        resnet_head_fixture(a.out or RESNET_HEAD_FIXTURE)
    elif a.resnet:
        resnet_fixture(a.out or RESNET_FIXTURE)
    elif a.sigmoid:
        sigmoid_fixture(a.out or SIGMOID_FIXTURE)
    elif a.full:
        full_fixture(a.full, a.orl)
    else:
        small_fixture(a.out or FIXTURE)


if __name__ == "__main__":
    main()
