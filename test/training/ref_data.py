"""References for the data tests, written from RSB data/transforms and the Market-1501 layout:

- op "transform": RSB's train transform with given random choices, built from torchvision functional ops
  (hflip, pad fill 0, crop, ToTensor, Normalize) and RSB RandomErasing's slice assignment
  img[c, x1:x1+h, y1:y1+w] = mean[c]; or the test transform (ToTensor + Normalize).
- op "parse": RSB data/datasets/market1501.py _process_dir (regex ([-\\d]+)_c(\\d), junk pid -1 dropped,
  camid 0-based, pids relabelled for train) on a folder.
"""
import glob
import json
import os.path as osp
import re
import sys


MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]


def transform(req):
    # Imported here: the parse op does not need torch (whose import takes seconds).
    import torch
    import torchvision.transforms.functional as TF

    H, W = req["height"], req["width"]
    img = torch.tensor(req["rgb"], dtype=torch.uint8).reshape(H, W, 3).permute(2, 0, 1)
    p = req.get("params")
    if p is not None:
        if p["flip"]:
            img = TF.hflip(img)
        img = TF.pad(img, [p["padding"]], fill=0)
        img = TF.crop(img, p["top"], p["left"], H, W)
    t = img.float() / 255.0
    t = TF.normalize(t, MEAN, STD)
    if p is not None and p["erase"] is not None:
        e = p["erase"]
        x1, y1, h, w = e["y"], e["x"], e["h"], e["w"]
        for c in range(3):
            t[c, x1:x1 + h, y1:y1 + w] = p["eraseValue"][c]
    return t.permute(1, 2, 0).reshape(-1).tolist()


def process_dir(dir_path, relabel=False):
    img_paths = glob.glob(osp.join(dir_path, "*.jpg"))
    pattern = re.compile(r"([-\d]+)_c(\d)")
    pid_container = set()
    for img_path in img_paths:
        pid, _ = map(int, pattern.search(img_path).groups())
        if pid == -1:
            continue
        pid_container.add(pid)
    # RSB enumerates the set (arbitrary order); the port under test relabels in ascending pid order.
    pid2label = {pid: label for label, pid in enumerate(sorted(pid_container))}
    dataset = []
    for img_path in img_paths:
        pid, camid = map(int, pattern.search(img_path).groups())
        if pid == -1:
            continue
        camid -= 1
        if relabel:
            pid = pid2label[pid]
        dataset.append((img_path, pid, camid))
    return sorted(dataset)


def main():
    req = json.load(sys.stdin)
    # Batched requests: one interpreter start for many cases.
    if req["op"] == "transform":
        json.dump([transform(r) for r in req["cases"]], sys.stdout)
    elif req["op"] == "parse":
        json.dump([process_dir(r["dir"], r["relabel"]) for r in req["cases"]], sys.stdout)


if __name__ == "__main__":
    main()
