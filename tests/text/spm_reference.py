#!/usr/bin/env python3
"""Trains SentencePiece models with Debian's `spm_train` on generated
multilingual text (unigram; BPE with byte fallback), and writes the
`sentencepiece` package's ids and decodes over the hard-case corpus of
tokenizers_reference.py, for test_text_tokenizer.

usage: spm_reference.py OUT_DIR
writes OUT_DIR/unigram.model, OUT_DIR/bpe.model and OUT_DIR/cases.tsv as
tokenizers_reference.py does (decodes with and without specials are the
same: SentencePiece decodes control tokens to nothing).
"""
import os
import random
import subprocess
import sys

import sentencepiece as spm

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tokenizers_reference as ref  # noqa: E402


def main():
    out = sys.argv[1]
    rng = random.Random(18)
    train = os.path.join(out, "spm_train.txt")
    with open(train, "w") as f:
        for _ in range(3000):
            f.write(ref.gen_doc(rng, rng.randint(5, 40)).replace("\r", " ").replace("\n", " ") + "\n")
    # Sizes the generated text supports (unigram cannot exceed its pieces;
    # byte fallback needs room for its 256 byte pieces).
    for name, extra in (("unigram", ["--model_type=unigram", "--vocab_size=400"]),
                        ("bpe", ["--model_type=bpe", "--byte_fallback=true", "--vocab_size=800"])):
        subprocess.run(["spm_train", "--input=" + train, "--model_prefix=" + os.path.join(out, name),
                        "--character_coverage=0.995", "--minloglevel=2"] + extra,
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    corpus = [s.encode() for s in ref.HARD] + [ref.gen_doc(rng, rng.randint(1, 80)).encode() for _ in range(300)]
    corpus += ref.INVALID
    with open(os.path.join(out, "cases.tsv"), "w") as f:
        for name in ("unigram", "bpe"):
            sp = spm.SentencePieceProcessor(model_file=os.path.join(out, name + ".model"))
            for raw in corpus:
                try:
                    text, flags = raw.decode("utf-8"), 0
                except UnicodeDecodeError:
                    text, flags = raw.decode("utf-8", "replace"), 4
                ids = sp.encode(text)
                dec = sp.decode(ids)
                f.write("\t".join([name + ".model", str(flags), raw.hex() or "-", " ".join(map(str, ids)) or "-",
                                   dec.encode().hex() or "-", dec.encode().hex() or "-"]) + "\n")


if __name__ == "__main__":
    main()
