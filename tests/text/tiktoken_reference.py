#!/usr/bin/env python3
"""Makes tiktoken rank files from a byte-level BPE trained here with the
`tokenizers` package (bytes rank 0..255, then each merge's token in merge
order), builds `tiktoken` Encodings from them (no download), and writes
the package's ids and decodes over the hard-case corpus of
tokenizers_reference.py, for test_text_tokenizer.

usage: tiktoken_reference.py OUT_DIR
writes OUT_DIR/cl100k_base_small.tiktoken (cl100k's pattern and special
tokens, found by weir from the name), o200k_base_small.tiktoken (o200k's),
plain.tiktoken (no known name: cl100k's pattern, no special tokens) and
OUT_DIR/cases.tsv as tokenizers_reference.py does.
"""
import base64
import json
import os
import random
import sys

import tiktoken
from tokenizers import Regex, pre_tokenizers

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tokenizers_reference as ref  # noqa: E402


def bytes_of(token):
    dec = {c: b for b, c in bytes_to_unicode().items()}
    return bytes(dec[ch] for ch in token)


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def main():
    out = sys.argv[1]
    rng = random.Random(17)
    train = [ref.gen_doc(rng, rng.randint(5, 60)) for _ in range(3000)]
    tok = ref.build("t", pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(ref.CL100K.replace("{1,3}+", "{1,3}")), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)]), train, added=False)
    model = json.loads(tok.to_str())["model"]
    ranks = {bytes([b]): b for b in range(256)}
    for m in model["merges"]:
        a, b = m.split(" ") if isinstance(m, str) else m
        t = bytes_of(a) + bytes_of(b)
        if t not in ranks:
            ranks[t] = len(ranks)
    cl100k_special = {"<|endoftext|>": 100257, "<|fim_prefix|>": 100258, "<|fim_middle|>": 100259,
                      "<|fim_suffix|>": 100260, "<|endofprompt|>": 100276}
    o200k_special = {"<|endoftext|>": 199999, "<|endofprompt|>": 200018}
    encs = {
        "cl100k_base_small.tiktoken": tiktoken.Encoding("cl100k_small", pat_str=ref.CL100K, mergeable_ranks=ranks,
                                                        special_tokens=cl100k_special),
        "o200k_base_small.tiktoken": tiktoken.Encoding("o200k_small", pat_str=ref.O200K, mergeable_ranks=ranks,
                                                       special_tokens=o200k_special),
        "plain.tiktoken": tiktoken.Encoding("plain", pat_str=ref.CL100K, mergeable_ranks=ranks, special_tokens={}),
    }
    corpus = [s.encode() for s in ref.HARD] + [ref.gen_doc(rng, rng.randint(1, 80)).encode() for _ in range(300)]
    corpus += [b"special <|fim_prefix|>x<|fim_suffix|>y<|endofprompt|> done"]
    corpus += ref.INVALID
    with open(os.path.join(out, "cases.tsv"), "w") as f:
        for name, enc in encs.items():
            with open(os.path.join(out, name), "w") as r:
                for t, rank in sorted(ranks.items(), key=lambda kv: kv[1]):
                    r.write(base64.b64encode(t).decode() + " " + str(rank) + "\n")
            specials = set(enc._special_tokens.values())
            for raw in corpus:
                try:
                    text, flags = raw.decode("utf-8"), 0
                except UnicodeDecodeError:
                    text, flags = raw.decode("utf-8", "replace"), 4
                ids = enc.encode(text, allowed_special="all")
                dec = enc.decode([i for i in ids if i not in specials])
                dec_all = enc.decode(ids)
                f.write("\t".join([name, str(flags), raw.hex() or "-", " ".join(map(str, ids)) or "-",
                                   dec.encode().hex() or "-", dec_all.encode().hex() or "-"]) + "\n")


if __name__ == "__main__":
    main()
