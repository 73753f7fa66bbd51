#!/usr/bin/env python3
"""DataTrove 0.10's four-stage MinHash deduplication of one JSONL file, for
test_text_minhash (run in the DataTrove environment .ci/setup makes):

    minhash_datatrove.py CORPUS.jsonl WORKDIR REMOVED.txt [STAGE1_ONLY]

Stages: MinhashDedupSignature (1 task), MinhashDedupBuckets (14 tasks, one
per bucket), MinhashDedupCluster (1 task), with MinhashConfig() defaults:
word 5-grams, 14 buckets x 8 hashes, seed 1, HashConfig(64, "xxhash").
REMOVED.txt gets the 0-based file lines of the documents the cluster stage marks for removal
(its .remove file, which MinhashDedupFilter would drop). With a fourth
argument only stage 1 runs; the CPU seconds of the stages run are printed
(bench_minhash).
"""
import os
import shutil
import struct
import sys
import time

from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.dedup.minhash import (MinhashConfig, MinhashDedupBuckets,
                                              MinhashDedupCluster, MinhashDedupSignature)
from datatrove.pipeline.readers import JsonlReader
from datatrove.utils.hashing import HashConfig


def main():
    corpus, work, out = sys.argv[1], sys.argv[2], sys.argv[3]
    stage1_only = len(sys.argv) > 4
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    indir = os.path.join(work, "in")
    os.makedirs(indir)
    os.symlink(os.path.abspath(corpus), os.path.join(indir, "00000.jsonl"))
    cfg = MinhashConfig(hash_config=HashConfig(precision=64, hash_fc="xxhash"))
    sigs, bk, rm = (os.path.join(work, d) for d in ("sigs", "buckets", "remove"))
    t0, c0 = time.time(), time.process_time()
    LocalPipelineExecutor(pipeline=[JsonlReader(indir, glob_pattern="*.jsonl"),
                                    MinhashDedupSignature(output_folder=sigs, config=cfg)],
                          tasks=1, workers=1, logging_dir=os.path.join(work, "l1")).run()
    t1, c1 = time.time(), time.process_time()
    if stage1_only:
        n = sum(1 for _ in open(corpus, encoding="utf-8"))
        print("datatrove_signature_cpu_seconds %.3f docs %d wall %.3f" % (c1 - c0, n, t1 - t0))
        return
    LocalPipelineExecutor(pipeline=[MinhashDedupBuckets(input_folder=sigs, output_folder=bk,
                                                        config=cfg)],
                          tasks=cfg.num_buckets, workers=1,
                          logging_dir=os.path.join(work, "l2")).run()
    LocalPipelineExecutor(pipeline=[MinhashDedupCluster(input_folder=bk, output_folder=rm,
                                                        config=cfg)],
                          tasks=1, workers=1, logging_dir=os.path.join(work, "l3")).run()
    removed = []
    path = os.path.join(rm, "000000.remove")
    if os.path.exists(path):
        data = open(path, "rb").read()
        removed = [x[0] for x in struct.iter_unpack("<I", data)]
    # DataTrove's readers skip documents whose text is empty, so its
    # document index counts the non-empty ones: back to file lines.
    import json
    lines = [i for i, l in enumerate(open(corpus, encoding="utf-8")) if json.loads(l)["text"]]
    with open(out, "w") as f:
        for r in removed:
            f.write("%d\n" % lines[r])
    print("datatrove_cpu_seconds %.3f wall %.3f removed %d"
          % (time.process_time() - c0, time.time() - t0, len(removed)))


if __name__ == "__main__":
    main()
