#!/usr/bin/env python3
"""Trains small fastText classifiers on generated multilingual text with the
`fasttext` package (softmax with word and character n-grams, hierarchical
softmax, one-vs-all, and a quantized .ftz), and writes, for held-out
documents, fastText's predict(text, k=-1) for each model, for
test_text_langid to compare with weir's own evaluator.

usage: fasttext_reference.py OUT_DIR [SEED]
"""
import json
import os
import random
import sys

import fasttext

SYLLABLES = {
    "en": "the and ing ion ent her tha for was you ther with ate his ver all".split(),
    "de": "der die und sch ein ich cht den ung gen ber auf mit ist ver".split(),
    "fr": "les des ent que est ion une pour par ait eur ous qui dans mon".split(),
    "es": "que los las del por con una ción ado ent ara era mos para est".split(),
    "it": "che per del una ell ione con lla non ato are gli sono nte zio".split(),
    "pt": "que ção não com uma dos para mais ent est ado ões por ava nho".split(),
    "nl": "een het van aar ijk oor gen ver sch de en ing cht ter lijk".split(),
    "ru": "что это как ого ени ать его она все ост про при ния ные тся".split(),
}


def word(rng, lang):
    return "".join(rng.choice(SYLLABLES[lang]) for _ in range(rng.randint(1, 3)))


def doc(rng, lang, n=None):
    words = [word(rng, lang) for _ in range(n or rng.randint(3, 40))]
    # A few borrowed words and punctuation, so predictions are not all 1.0.
    for i in range(len(words)):
        if rng.random() < 0.15:
            words[i] = word(rng, rng.choice(list(SYLLABLES)))
        if rng.random() < 0.1:
            words[i] += rng.choice([",", ".", "!", "?"])
    return " ".join(words)


def main():
    out = sys.argv[1]
    rng = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 14)
    os.makedirs(out, exist_ok=True)
    train = os.path.join(out, "train.txt")
    with open(train, "w", encoding="utf-8") as f:
        for _ in range(3000):
            lang = rng.choice(list(SYLLABLES))
            f.write("__label__%s %s\n" % (lang, doc(rng, lang)))
    models = {
        "softmax.bin": dict(loss="softmax", wordNgrams=2, minn=2, maxn=4, dim=16, bucket=20000, lr=0.5),
        "hs.bin": dict(loss="hs", wordNgrams=1, minn=0, maxn=0, dim=10, lr=0.05),
        "ova.bin": dict(loss="ova", wordNgrams=2, minn=3, maxn=5, dim=12, bucket=10000, lr=0.2),
    }
    tests = []
    for _ in range(400):
        lang = rng.choice(list(SYLLABLES))
        tests.append(doc(rng, lang, rng.randint(1, 60)))
    tests += ["", "12345", "unknownword", "mixed der the que что", "a  b\tc"]
    for name, kw in models.items():
        # One process per model: in fastText 0.9 a second hierarchical-softmax
        # training in the same process stops with "Encountered NaN".
        pid = os.fork()
        if pid == 0:
            m = fasttext.train_supervised(input=train, epoch=5, thread=1, seed=0, verbose=0, **kw)
            m.save_model(os.path.join(out, name))
            os._exit(0)
        _, status = os.waitpid(pid, 0)
        if status != 0:
            raise SystemExit("training %s failed" % name)
    q = fasttext.train_supervised(input=train, epoch=5, lr=0.5, thread=1, seed=0, verbose=0,
                                  loss="softmax", wordNgrams=2, minn=2, maxn=4, dim=16, bucket=20000)
    q.quantize(input=train, qnorm=True, cutoff=2000, retrain=False, dsub=2)
    q.save_model(os.path.join(out, "quant.ftz"))
    with open(os.path.join(out, "predictions.jsonl"), "w", encoding="utf-8") as f:
        for name in list(models) + ["quant.ftz"]:
            m = fasttext.load_model(os.path.join(out, name))
            for t in tests:
                labels, probs = m.predict(t, k=-1)
                # Space-separated (labels hold no spaces), for a plain reader.
                f.write(json.dumps({"model": name, "text": t, "labels": " ".join(labels),
                                    "probs": " ".join(repr(float(p)) for p in probs)},
                                   ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
