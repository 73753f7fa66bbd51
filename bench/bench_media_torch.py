#!/usr/bin/python3
"""The PyTorch peer of bench_media_video: a DataLoader with two workers, each
decoding half of the video with PyAV, keeping every second frame, and
resizing it to 224x224 RGB with torch (bilinear). Prints one JSON line:
{"frames": N, "seconds": S, "fps": N / S}.

Usage: bench_media_torch.py VIDEO [WORKERS]
"""
import json
import sys
import time

import av
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, IterableDataset, get_worker_info


class VideoFrames(IterableDataset):
    """Frames of one video, split into one time range per worker, as weir
    splits it; every second frame of the stream, resized to 224x224."""

    def __init__(self, path):
        self.path = path
        with av.open(path) as c:
            s = c.streams.video[0]
            self.rate = float(s.average_rate)
            self.frames = s.frames or int(float(s.duration * s.time_base) * self.rate)

    def __iter__(self):
        torch.set_num_threads(1)
        info = get_worker_info()
        wid, n = (info.id, info.num_workers) if info else (0, 1)
        per = (self.frames + n - 1) // n
        per += per % 2  # ranges start on a kept (even) frame
        first, last = wid * per, min(self.frames, (wid + 1) * per)
        with av.open(self.path) as c:
            s = c.streams.video[0]
            tb = float(s.time_base)
            if first > 0:
                c.seek(int(first / self.rate / tb), stream=s, backward=True)
            for frame in c.decode(s):
                idx = round(frame.pts * tb * self.rate)
                if idx < first:
                    continue
                if idx >= last:
                    break
                if idx % 2:
                    continue
                x = torch.from_numpy(frame.to_ndarray(format="rgb24"))
                x = x.permute(2, 0, 1).unsqueeze(0).float()
                x = F.interpolate(x, size=(224, 224), mode="bilinear",
                                  align_corners=False)
                yield x.squeeze(0).round().clamp(0, 255).to(torch.uint8).permute(1, 2, 0)


def main():
    path = sys.argv[1]
    workers = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    torch.set_num_threads(1)
    loader = DataLoader(VideoFrames(path), batch_size=16, num_workers=workers)
    t0 = time.monotonic()
    n = 0
    for batch in loader:
        n += batch.shape[0]
    dt = time.monotonic() - t0
    print(json.dumps({"frames": n, "seconds": dt, "fps": n / dt}))


if __name__ == "__main__":
    main()
