#!/usr/bin/env python3
"""DataTrove 0.10's whole local MinHash deduplication of one JSONL corpus on
W worker processes, for bench_minhash --whole (run in the DataTrove
environment .ci/setup makes):

    minhash_datatrove_whole.py CORPUS.jsonl WORKDIR REMOVED.txt WORKERS

The corpus is split into WORKERS files so that stage 1 (signatures, one
task per file) runs on WORKERS processes; stage 2 (buckets, 14 tasks) runs
on WORKERS processes; stage 3 (clustering) is one task, as DataTrove has
it; stage 4 (MinhashDedupFilter: read the corpus again and write the
documents kept, uncompressed JSONL as weir writes) runs one task per file. MinhashConfig() defaults
with 64-bit xxhash, as tests/text/minhash_datatrove.py. REMOVED.txt gets
the 0-based corpus lines of the documents removed. Prints wall and CPU
seconds (this process and its children) per stage and in all.
"""
import json
import os
import resource
import shutil
import struct
import sys
import time

from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.dedup.minhash import (MinhashConfig, MinhashDedupBuckets,
                                              MinhashDedupCluster, MinhashDedupFilter,
                                              MinhashDedupSignature)
from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.writers import JsonlWriter
from datatrove.utils.hashing import HashConfig


def cpu():
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


def main():
    corpus, work, out, workers = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    shutil.rmtree(work, ignore_errors=True)
    indir = os.path.join(work, "in")
    os.makedirs(indir)
    lines = open(corpus, encoding="utf-8").read().splitlines(keepends=True)
    per = (len(lines) + workers - 1) // workers
    # DataTrove's readers skip empty texts: its index counts the others.
    nonempty = []
    for w in range(workers):
        part = lines[w * per:(w + 1) * per]
        with open(os.path.join(indir, "%05d.jsonl" % w), "w", encoding="utf-8") as f:
            f.writelines(part)
        nonempty.append([w * per + i for i, l in enumerate(part) if json.loads(l)["text"]])
    del lines
    cfg = MinhashConfig(hash_config=HashConfig(precision=64, hash_fc="xxhash"))
    sigs, bk, rm, kept = (os.path.join(work, d) for d in ("sigs", "buckets", "remove", "kept"))
    stages = [
        ("signatures", [JsonlReader(indir, glob_pattern="*.jsonl"),
                        MinhashDedupSignature(output_folder=sigs, config=cfg)], workers),
        ("buckets", [MinhashDedupBuckets(input_folder=sigs, output_folder=bk, config=cfg)],
         cfg.num_buckets),
        ("cluster", [MinhashDedupCluster(input_folder=bk, output_folder=rm, config=cfg)], 1),
        ("filter", [JsonlReader(indir, glob_pattern="*.jsonl"),
                    MinhashDedupFilter(input_folder=rm),
                    JsonlWriter(kept, compression=None)], workers),
    ]
    t0, c0 = time.time(), cpu()
    for name, pipe, tasks in stages:
        t, c = time.time(), cpu()
        # "fork": the workers are this process's children, so their CPU
        # time counts in RUSAGE_CHILDREN once the pool has reaped them.
        LocalPipelineExecutor(pipeline=pipe, tasks=tasks, workers=min(workers, tasks),
                              logging_dir=os.path.join(work, "log-" + name),
                              start_method="fork").run()
        print("datatrove_stage %s wall %.2f cpu %.2f" % (name, time.time() - t, cpu() - c),
              flush=True)
    wall, cpus = time.time() - t0, cpu() - c0
    removed = []
    for w in range(workers):
        path = os.path.join(rm, "%06d.remove" % w)
        if os.path.exists(path):
            removed += [nonempty[w][x[0]] for x in struct.iter_unpack("<I", open(path, "rb").read())]
    with open(out, "w") as f:
        for r in sorted(removed):
            f.write("%d\n" % r)
    print("datatrove_whole wall %.2f cpu %.2f removed %d" % (wall, cpus, len(removed)))


if __name__ == "__main__":
    main()
