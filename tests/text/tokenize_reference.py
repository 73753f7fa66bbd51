"""Reference for test_text_tokenize: trains a byte-level BPE tokenizer with
the `tokenizers` package on generated multilingual text, and writes, for a
corpus with the hard cases (emoji, CJK, combining marks, whitespace runs,
\\r\\n, digits, an added token inside a word), each document's ids
(encode(text).ids) and its token chunks: windows of `size` tokens, the next
starting size - overlap tokens later, as byte ranges of the document (from
the first token's first byte to the last token's last byte).

    python tokenize_reference.py OUTDIR [SEED]

Writes OUTDIR/tokenizer.json, OUTDIR/corpus.jsonl ({"i": ..., "text": ...}) and
OUTDIR/ref.txt (three lines per document, numbers separated by spaces: the
ids; the chunks of 16 tokens with 5 of overlap as start end pairs; those of
128 with 30), and OUTDIR/replace.txt (the ids of a text with invalid UTF-8
read with errors='replace', then the id of <|endoftext|>)."""
import json
import random
import sys

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

out = sys.argv[1]
rng = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 16)

WORDS = ["river", "stone", "light", "the", "of", "and", "data", "token", "model",
         "café", "naïve", "straße", "Köln", "données", "e\u0301te\u0301",  # combining
         "日本語", "中文", "東京都", "😀", "👩\u200d💻", "🇫🇷", "Москва", "ελληνικά",
         "עברית", "مرحبا", "12345", "3.14", "2024", "x", "I", "it's", "don't"]
SEPS = [" ", " ", " ", "  ", "\n", "\r\n", "\t", "   ", "\n\n", ", ", ". ", "! "]


def doc(n):
    parts = []
    for _ in range(n):
        parts.append(rng.choice(WORDS))
        parts.append(rng.choice(SEPS))
    return "".join(parts)


train = [doc(rng.randint(5, 200)) for _ in range(3000)]
tok = Tokenizer(models.BPE())
tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
tok.decoder = decoders.ByteLevel()
trainer = trainers.BpeTrainer(vocab_size=1200, special_tokens=["<|endoftext|>"],
                              initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                              show_progress=False)
tok.train_from_iterator(train, trainer)
tok.save(f"{out}/tokenizer.json")

corpus = [doc(rng.randint(0, 400)) for _ in range(700)]
corpus[3] = ""
corpus[5] = "   \r\n\t  "
corpus[8] = "word<|endoftext|>inside a word and 😀😀😀 at the end"
corpus[9] = "x" * 5000 + " " + "日本" * 300


def byte_offsets(text, offsets):
    # tokenizers gives offsets in characters; weir gives bytes.
    pos = [0]
    for ch in text:
        pos.append(pos[-1] + len(ch.encode("utf-8")))
    return [(pos[a], pos[b]) for a, b in offsets]


def windows(offs, size, overlap):
    res = []
    i = 0
    while i < len(offs):
        j = min(i + size, len(offs))
        rng_ = [o for o in offs[i:j] if o[0] != o[1]]
        if rng_:
            res.append([min(a for a, _ in rng_), max(b for _, b in rng_)])
        if j == len(offs):
            break
        i += size - overlap
    return res


with open(f"{out}/corpus.jsonl", "w", encoding="utf-8") as fc, \
        open(f"{out}/ref.txt", "w") as fr:
    for i, text in enumerate(corpus):
        enc = tok.encode(text)
        plain = tok.encode(text, add_special_tokens=False)
        offs = byte_offsets(text, plain.offsets)
        fc.write(json.dumps({"i": i, "text": text}, ensure_ascii=False) + "\n")
        for nums in (enc.ids, sum(windows(offs, 16, 5), []), sum(windows(offs, 128, 30), [])):
            fr.write(" ".join(map(str, nums)) + "\n")

bad = b"ab \xff\xfe cd \xe6\x97 \xf0\x9f\x98\x80"
with open(f"{out}/replace.txt", "w") as f:
    f.write(" ".join(map(str, tok.encode(bad.decode("utf-8", "replace")).ids)) + "\n")
    f.write(f"{tok.token_to_id('<|endoftext|>')}\n")
