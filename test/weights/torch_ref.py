"""Reference dumps shared by the checkpoint generators: what PyTorch itself holds for a state dict."""
import json
import os


def dump_ref(out, name, sd):
    """NAME.ref.json ({key: {shape, dtype, offset}} in dict order) + NAME.ref.bin (each tensor as contiguous
    little-endian float32, converted by torch's .float())."""
    meta = {}
    off = 0
    with open(os.path.join(out, name + '.ref.bin'), 'wb') as f:
        for k, t in sd.items():
            b = t.detach().float().contiguous().numpy().astype('<f4').tobytes()
            meta[k] = {'shape': list(t.shape), 'dtype': str(t.dtype).replace('torch.', ''), 'offset': off}
            f.write(b)
            off += len(b)
    with open(os.path.join(out, name + '.ref.json'), 'w') as f:
        json.dump(meta, f)
