"""Ray Data side of bench/peers/bench_ray: the same pipelines as weir's,
on the same data and the same number of cores. Prints one JSON line.

Usage: python ray_bench.py text <glob> <cores>
       python ray_bench.py hetero <blocks> <cores>
       python ray_bench.py video <file> <cores> <segment seconds>

Ray is started (ray.init) before the clock starts and without its
dashboard, which favours Ray; the peak RSS is the largest sum, sampled
every 50 ms, of the resident memory of this process and all its
descendants (raylet, GCS, workers).
"""
import glob
import json
import sys
import threading
import time

import numpy as np
import psutil


class TreeRss(threading.Thread):
    def __init__(self):
        super().__init__(daemon=True)
        self.peak, self.stop = 0, False

    def run(self):
        me = psutil.Process()
        while not self.stop:
            total = 0
            for p in [me] + me.children(recursive=True):
                try:
                    total += p.memory_info().rss
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total)
            time.sleep(0.05)


def start(cores, **resources):
    import ray
    ray.init(num_cpus=cores, resources=resources or None,
             include_dashboard=False, log_to_driver=False,
             logging_level="ERROR")
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    return ray


def text(pattern, cores):
    import pyarrow.compute as pc
    ray = start(cores)
    rss = TreeRss()
    rss.start()
    files = sorted(glob.glob(pattern))

    def lower_and_count(batch):
        low = pc.utf8_lower(batch["text"])
        words = pc.list_value_length(pc.utf8_split_whitespace(low))
        return batch.set_column(batch.schema.get_field_index("text"), "text",
                                low).append_column("words", words)

    t0 = time.time()
    ds = ray.data.read_json(files,
                            arrow_open_stream_args={"compression": "zstd"})
    ds = ds.map_batches(lower_and_count, batch_format="pyarrow")
    rows = words = 0
    for b in ds.iter_batches(batch_size=1024, batch_format="pyarrow"):
        rows += b.num_rows
        words += pc.sum(b["words"]).as_py()
    dt = time.time() - t0
    rss.stop = True
    rss.join()
    print(json.dumps({"rows": rows, "words": words, "seconds": dt,
                      "rows_per_s": rows / dt, "peak_rss": rss.peak}))


def burn(us):
    end = time.thread_time() + us * 1e-6
    x = 1
    while time.thread_time() < end:
        for _ in range(200):
            x = (x * 1664525 + 1013904223) & 0xffffffff


def hetero(n, cores):
    ray = start(cores, accel=2)

    def read(batch):          # the read: 8 ms of waiting per block
        time.sleep(0.008)
        return batch

    def pre(batch):
        burn(600)
        return batch

    def post(batch):
        burn(400)
        return batch

    class Accel:              # holds one 'accel' slot, waits 2 ms a block
        def __call__(self, batch):
            t0 = time.time()
            time.sleep(0.002)
            batch["t0"] = np.full(len(batch["id"]), t0)
            batch["t1"] = np.full(len(batch["id"]), time.time())
            return batch

    t0 = time.time()
    ds = ray.data.range(n, override_num_blocks=n)
    ds = ds.map_batches(read, batch_size=1, num_cpus=0)
    ds = ds.map_batches(pre, batch_size=1)
    ds = ds.map_batches(Accel, batch_size=1,
                        compute=ray.data.ActorPoolStrategy(size=2),
                        num_cpus=0, resources={"accel": 1})
    ds = ds.map_batches(post, batch_size=1)
    rows, starts, ends = 0, [], []
    for b in ds.iter_batches(batch_size=None, batch_format="numpy"):
        rows += len(b["id"])
        starts.extend(b["t0"].tolist())
        ends.extend(b["t1"].tolist())
    dt = time.time() - t0
    busy = sum(e - s for s, e in zip(starts, ends))
    span = max(ends) - min(starts)
    print(json.dumps({"rows": rows, "seconds": dt, "rows_per_s": rows / dt,
                      "accel_busy": busy / (2 * span)}))


def video(path, cores, segment):
    import av
    ray = start(cores)
    with av.open(path) as c:
        duration = float(c.duration) / 1e6
    segs = [{"start": s, "end": min(duration, s + segment)}
            for s in np.arange(0, duration, segment)]

    def decode(batch):
        frames = []
        for start, end in zip(batch["start"], batch["end"]):
            with av.open(path) as c:
                st = c.streams.video[0]
                st.thread_count = 1
                rate = float(st.average_rate)
                c.seek(int(start / st.time_base), stream=st,
                       any_frame=False, backward=True)
                for f in c.decode(st):
                    t = float(f.pts * st.time_base)
                    if t < start - 1e-6:
                        continue
                    if t >= end - 1e-6:
                        break
                    if round(t * rate) % 2:       # every 2nd frame
                        continue
                    frames.append(f.reformat(width=224, height=224,
                                             format="rgb24").to_ndarray())
        return {"frame": np.stack(frames) if frames
                else np.zeros((0, 224, 224, 3), np.uint8)}

    t0 = time.time()
    ds = ray.data.from_items(segs, override_num_blocks=len(segs))
    ds = ds.map_batches(decode, batch_size=1)
    n = 0
    for b in ds.iter_batches(batch_size=None, batch_format="numpy"):
        n += len(b["frame"])
    dt = time.time() - t0
    print(json.dumps({"frames": n, "seconds": dt, "fps": n / dt}))


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "text":
        text(sys.argv[2], int(sys.argv[3]))
    elif mode == "hetero":
        hetero(int(sys.argv[2]), int(sys.argv[3]))
    else:
        video(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
