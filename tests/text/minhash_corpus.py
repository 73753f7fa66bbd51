#!/usr/bin/env python3
"""A corpus with planted near-duplicates of known Jaccard similarity, for
test_text_minhash and bench_minhash (standard library only).

    minhash_corpus.py OUT.jsonl PAIRS.tsv NPAIRS NSINGLES SEED

Each document is a list of canonical words (lowercase letters, or "0" for
a number) rendered with surface noise that DataTrove's simplify_text
removes again: capitals, commas and full stops, numbers ("1984", "3.50",
"1,000" all simplify to "0") and accents (e -> é). A planted copy edits
random words (single words, and runs of 3-8 words for sentence edits) of
the canonical list until the Jaccard similarity of the two sets of word
5-grams reaches its target, computed exactly on those sets; a share of
copies are exact (J = 1.0, rendered with other noise). PAIRS.tsv lists
"line_a line_b J" (0-based JSONL lines). The documents are shuffled, and
each has an int64 "id" and a "group" (its pair, or -1).
"""
import json
import random
import sys

N = 5


def shingles(ws):
    return {tuple(ws[i:i + N]) for i in range(len(ws) - N + 1)}


def jaccard(a, b):
    return len(a & b) / len(a | b) if a or b else 1.0


def main():
    out, pairs_out, npairs, nsingles, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(
        sys.argv[4]), int(sys.argv[5])
    rnd = random.Random(seed)
    cons, vows = "bdfgklmnprstvz", "aeiou"
    vocab = set()
    while len(vocab) < 30000:
        vocab.add("".join(rnd.choice(cons) + rnd.choice(vows) for _ in range(rnd.randint(2, 4))))
    vocab = sorted(vocab)

    def word():
        return "0" if rnd.random() < 0.03 else rnd.choice(vocab)

    def doc(nw):
        return [word() for _ in range(nw)]

    def render(ws):
        out = []
        for k, w in enumerate(ws):
            if w == "0":
                s = rnd.choice(["1984", "3.50", "1,000", "42", "7"])
            else:
                s = w
                if "e" in s and rnd.random() < 0.05:
                    s = s.replace("e", "é", 1)
                if k == 0 or rnd.random() < 0.08:
                    s = s[0].upper() + s[1:]
            r = rnd.random()
            if r < 0.05:
                s += ","
            elif r < 0.09:
                s += "."
            out.append(s)
        return " ".join(out)

    docs, pairs = [], []
    for p in range(npairs):
        base = doc(rnd.randint(250, 350))
        if rnd.random() < 0.1:
            target = 1.0
        else:
            target = rnd.uniform(0.3, 1.0)
        copy = list(base)
        sb = shingles(base)
        j = 1.0
        while j > target:
            if rnd.random() < 0.15:  # a sentence edit
                at = rnd.randrange(len(copy))
                for k in range(at, min(len(copy), at + rnd.randint(3, 8))):
                    copy[k] = word()
            else:
                copy[rnd.randrange(len(copy))] = word()
            j = jaccard(sb, shingles(copy))
        docs.append((render(base), p))
        docs.append((render(copy), p))
        pairs.append(j)
    for _ in range(nsingles):
        docs.append((render(doc(rnd.randint(250, 350))), -1))
    # Short texts: no signature (fewer than 5 words), never duplicates.
    for t in ["", "Too short.", "one two three four", "one two three four"]:
        docs.append((t, -1))
    order = list(range(len(docs)))
    rnd.shuffle(order)
    line_of = {}
    with open(out, "w", encoding="utf-8") as f:
        for line, k in enumerate(order):
            text, g = docs[k]
            line_of[k] = line
            f.write(json.dumps({"id": 1000000 - line, "group": g, "text": text},
                               ensure_ascii=False) + "\n")
    with open(pairs_out, "w") as f:
        for p, j in enumerate(pairs):
            f.write("%d\t%d\t%.6f\n" % (line_of[2 * p], line_of[2 * p + 1], j))


if __name__ == "__main__":
    main()
