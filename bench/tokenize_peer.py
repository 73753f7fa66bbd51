#!/usr/bin/env python3
"""The peers of bench_tokenize. `prepare DIR N`: generates N English and N
mixed-script documents of about 2 KB (NUL-separated in DIR/english.txt
and DIR/mixed.txt), trains a byte-level BPE (Llama-3 style: cl100k's split
regex, then ByteLevel; 16000 tokens) on them with the `tokenizers` package
into DIR/tokenizer.json, writes the same ranks as DIR/bench.tiktoken, and trains a BERT WordPiece
(16000 tokens) into DIR/bert.json.
`run DIR THREADS`: times tokenizers' Tokenizer.encode_batch (Rust, its
own thread pool of THREADS) and tiktoken's encode_ordinary_batch
(num_threads=THREADS), and the WordPiece's encode_batch, on both corpora, best of 3, and prints per corpus:
`corpus peer MB/s tokens`.
"""
import base64
import json
import os
import random
import sys
import time

CL100K = (r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"""
          r"""|\s*[\r\n]+|\s+(?!\S)|\s+""")

EN = ("the of and to a in is that for it as was with be by on not he this are or his from at which but have an "
      "they you were her she there one all we their has been would when if will more no out so said what up its "
      "about into than them can only other new some could time these two may then do first any my now such like "
      "our over man me even most made after also did many before must through back years where much your way "
      "well down should because each just those people how too little state good very make world still own see "
      "men work long get here between both life being under never day same another know while last might us "
      "great old year off come since against go came right used take three data model training streaming "
      "tokenizer pipeline memory budget operator").split()
MIXED = {
    "de": "Straße Größe über Mädchen schön Fußgänger Übung Bäcker und der die das nicht".split(),
    "fr": "élève où garçon français déjà naïve cœur Noël le la les des est".split(),
    "ru": "привет мир данные токенизатор обучение модели и в не на что".split(),
    "zh": list("你好世界数据模型训练分词器的是不了人在有我他这中大来上国"),
    "ja": "こんにちは 世界 データ モデル 東京 です ます した".split(),
    "ar": "مرحبا بالعالم البيانات النموذج في من على".split(),
    "hi": "नमस्ते दुनिया डेटा मॉडल और के में".split(),
    "emoji": ["😀", "👍🏽", "🇫🇷", "❤️", "🤖"],
}


def english(rng):
    out, n = [], 0
    while n < 2000:
        w = rng.choice(EN)
        if rng.random() < 0.08:
            w = w.capitalize()
        if rng.random() < 0.05:
            w = str(rng.randint(0, 100000))
        sep = rng.choice([" "] * 12 + [", ", ". ", ".\n"])
        out.append(w + sep)
        n += len(w) + len(sep)
    return "".join(out)


def mixed(rng):
    out, n = [], 0
    while n < 2000:
        lang = rng.choice(list(MIXED) + ["en", "en"])
        w = rng.choice(EN if lang == "en" else MIXED[lang])
        if lang == "zh":
            w = "".join(rng.choice(MIXED["zh"]) for _ in range(rng.randint(2, 8)))
        sep = "" if lang in ("zh", "ja") and rng.random() < 0.5 else rng.choice([" ", " ", ", ", "。", ". ", "\n"])
        out.append(w + sep)
        n += len((w + sep).encode())
    return "".join(out)


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {chr(c): b for b, c in zip(bs, cs)}


def prepare(d, n):
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
    rng = random.Random(2026)
    corpora = {"english": [english(rng) for _ in range(n)], "mixed": [mixed(rng) for _ in range(n)]}
    for name, docs in corpora.items():
        with open(os.path.join(d, name + ".txt"), "w") as f:
            f.write("\0".join(docs))
    tok = Tokenizer(models.BPE(ignore_merges=True))
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(CL100K), behavior="isolated"),
                                                 pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=16000, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(corpora["english"][: n // 2] + corpora["mixed"][: n // 2], trainer)
    tok.save(os.path.join(d, "tokenizer.json"))
    from tokenizers import normalizers
    bert = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    bert.normalizer = normalizers.BertNormalizer(lowercase=True)
    bert.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    bert.train_from_iterator(corpora["english"][: n // 2] + corpora["mixed"][: n // 2], trainers.WordPieceTrainer(
        vocab_size=16000, show_progress=False, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]"]))
    bert.save(os.path.join(d, "bert.json"))
    dec = bytes_to_unicode()
    ranks = {bytes([b]): b for b in range(256)}
    for m in json.loads(tok.to_str())["model"]["merges"]:
        a, b = m.split(" ") if isinstance(m, str) else m
        t = bytes(dec[c] for c in a + b)
        ranks.setdefault(t, len(ranks))
    with open(os.path.join(d, "bench.tiktoken"), "w") as f:
        for t, r in sorted(ranks.items(), key=lambda kv: kv[1]):
            f.write(base64.b64encode(t).decode() + " " + str(r) + "\n")


def run(d, threads):
    os.environ["RAYON_NUM_THREADS"] = str(threads)
    os.environ["TOKENIZERS_PARALLELISM"] = "true"
    import tiktoken
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(os.path.join(d, "tokenizer.json"))
    ranks = {}
    with open(os.path.join(d, "bench.tiktoken")) as f:
        for line in f:
            t, r = line.split()
            ranks[base64.b64decode(t)] = int(r)
    enc = tiktoken.Encoding("bench", pat_str=CL100K, mergeable_ranks=ranks, special_tokens={})
    bert = Tokenizer.from_file(os.path.join(d, "bert.json"))
    for name in ("english", "mixed"):
        with open(os.path.join(d, name + ".txt")) as f:
            docs = f.read().split("\0")
        mb = sum(len(x.encode()) for x in docs) / 1e6
        for peer, fn in (("tokenizers", lambda: tok.encode_batch(docs)),
                         ("tiktoken", lambda: enc.encode_ordinary_batch(docs, num_threads=threads)),
                         ("wordpiece", lambda: bert.encode_batch(docs, add_special_tokens=False))):
            best, ntok = 1e9, 0
            for _ in range(3):
                t0 = time.perf_counter()
                out = fn()
                best = min(best, time.perf_counter() - t0)
            ntok = sum(len(e.ids) if hasattr(e, "ids") else len(e) for e in out)
            print(f"{name} {peer} {mb / best:.2f} {ntok}", flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "prepare":
        prepare(sys.argv[2], int(sys.argv[3]))
    else:
        run(sys.argv[2], int(sys.argv[3]))
