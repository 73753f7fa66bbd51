#!/usr/bin/env python3
"""A corpus COPIES times larger than one made by tests/text/minhash_corpus.py,
for bench_minhash --whole (generating a million documents with the
generator itself takes an hour here):

    minhash_corpus_copies.py IN.jsonl OUT.jsonl COPIES

Copy k rotates the generator's consonants (bdfgklmnprstvz, and their
capitals) by k places in every text, a bijection on its words: the
documents of a copy share no word 5-gram with another copy's (but by rare
chance), and the planted near-duplicate pairs of each copy keep their
Jaccard similarity. Vowels, accents, digits and punctuation are left
alone. The "id" of line L of OUT is 1000000 - L, as the generator writes.
"""
import json
import sys

CONS = "bdfgklmnprstvz"


def main():
    src, out, copies = sys.argv[1], sys.argv[2], int(sys.argv[3])
    rows = [json.loads(l) for l in open(src, encoding="utf-8")]
    line = 0
    with open(out, "w", encoding="utf-8") as f:
        for k in range(copies):
            rot = CONS[k % len(CONS):] + CONS[:k % len(CONS)]
            tab = str.maketrans(CONS + CONS.upper(), rot + rot.upper())
            for r in rows:
                f.write(json.dumps({"id": 1000000 - line, "group": r["group"],
                                    "text": r["text"].translate(tab)}, ensure_ascii=False))
                f.write("\n")
                line += 1


if __name__ == "__main__":
    main()
