#!/usr/bin/env python3
"""Trains small tokenizers on generated multilingual text with the
`tokenizers` package (byte-level BPE with GPT-2's, cl100k's and o200k's
split regexes), and writes, for a corpus of hard cases (emoji, CJK,
combining marks, whitespace runs, \\r\\n, digits, added tokens inside
words, invalid UTF-8), the package's ids and decodes, for
test_text_tokenizer to compare with weir's tokenizer.

usage: tokenizers_reference.py OUT_DIR [SEED]
writes OUT_DIR/<name>.json and OUT_DIR/cases.tsv with one line per case:
  name  flags  hex(input bytes)  ids (space-separated)  hex(decode)  hex(decode, specials kept)
an empty field is "-"; flags are weir's WEIR_TOKENIZE_* bits: 1 add special tokens, 4 invalid
UTF-8 replaced (the reference encodes bytes.decode('utf-8', 'replace')).
"""
import os
import random
import sys

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers, trainers

CL100K = (r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
          r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s""")
O200K = "|".join([
    r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
    r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
    r"""\p{N}{1,3}""",
    r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
    r"""\s*[\r\n]+""",
    r"""\s+(?!\S)""",
    r"""\s+""",
])

WORDS = {
    "en": "the quick brown fox jumps over lazy dog tokenizer streaming data model training it's we'll they've don't".split(),
    "de": "Straße Größe über Mädchen schön Fußgänger Übung Bäcker".split(),
    "fr": "élève où garçon français déjà naïve cœur Noël".split(),
    "ru": "привет мир данные токенизатор обучение модели".split(),
    "el": "καλημέρα κόσμε δεδομένα Σίσυφος".split(),
    "ar": "مرحبا بالعالم البيانات النموذج".split(),
    "hi": "नमस्ते दुनिया डेटा मॉडल".split(),
    "zh": "你好世界数据模型训练分词器".split(),
    "ja": "こんにちは世界 データ モデル 東京".split(),
    "ko": "안녕하세요 세계 데이터 모델".split(),
    "emoji": ["😀", "👍🏽", "👨‍👩‍👧", "🇫🇷", "❤️", "🤖"],
    "num": ["2024", "3.14159", "1,000,000", "42", "007", "12345678901"],
}


def gen_doc(rng, n):
    out = []
    for _ in range(n):
        lang = rng.choice(list(WORDS))
        w = rng.choice(WORDS[lang])
        if lang in ("zh", "ja") and rng.random() < 0.5:
            w = "".join(rng.choice(WORDS[lang]) for _ in range(rng.randint(1, 3)))
        out.append(w)
        out.append(rng.choice([" ", " ", " ", "  ", "\n", ", ", ". ", "\t", "\r\n", " - ", "!", "?\n\n"]))
    return "".join(out)


HARD = [
    "", " ", "  ", "\n", "\r\n", "\r\n\r\n", "a", "hello world", " hello  world   ", "Hello, World!",
    "tabs\tand\t\ttabs", "trailing spaces   ", "   leading", "line1\nline2\r\nline3\rline4",
    "x \n\n y", "multiple    spaces\n\n\n   and newlines  \n",
    "digits 1 12 123 1234 12345 3.14159 1,000,000 0x1F",
    "I'm you're they've we'll she'd IT'S DON'T", "'s 's's",
    "emoji 😀👍🏽 family 👨‍👩‍👧 flag 🇫🇷 heart ❤️ robot🤖",
    "中文分词测试，你好世界。", "日本語のテキスト、東京タワー。", "한국어 텍스트 안녕하세요",
    "combining: e\u0301 a\u0308 n\u0303 \u0915\u093f Z\u0351\u0336\u0335",
    "Ελληνικά ΣΊΣΥΦΟΣ σίσυφος", "Русский текст ПРИВЕТ", "العربية مرحبا", "हिन्दी नमस्ते",
    "mixed: Straße 東京 Москва 😀 naïve café",
    "added: hello helloworld sayhello wörld Wörld xwörldx <|endoftext|>mid<|endoftext|>",
    "<|endoftext|>", "a<|endoftext|>b", "<|endoftext|><|endoftext|>",
    "nbsp\u00a0here thin\u2009space ideographic\u3000space nel\u0085here",
    "zero\u200bwidth joiner\u200d", "symbols ©®™ ½ ∑ ∞ → ← ¿¡ §¶",
    "URL https://example.com/path?q=1&b=2#frag email me@example.org",
    "code: def f(x):\n    return x ** 2  # comment\n",
    "CamelCaseWords and snake_case_words and ALLCAPS",
    "   \n   \t  \r\n  ",
]

INVALID = [
    b"bad \xff byte", b"truncated \xe4\xb8", b"\xc3\x28 pair", b"lone \x80\x80 continuation",
    b"surrogate \xed\xa0\x80 here", b"overlong \xc0\xaf", b"\xf8\x88\x80\x80\x80 five",
    b"end \xf0\x9f\x98",
]


def build(name, pre, trainer_text, ignore_merges=False, added=True):
    tok = Tokenizer(models.BPE(ignore_merges=ignore_merges))
    tok.pre_tokenizer = pre
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=1200, min_frequency=2, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  special_tokens=["<|endoftext|>"])
    tok.train_from_iterator(trainer_text, trainer)
    if added:
        # Added tokens that occur inside words: normalized (the default for
        # non-special tokens) and one with single_word.
        tok.add_tokens(["hello", "wörld", AddedToken("xyz", single_word=True)])
    return tok


def main():
    out = sys.argv[1]
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 16
    rng = random.Random(seed)
    train = [gen_doc(rng, rng.randint(5, 60)) for _ in range(3000)]
    toks = {
        "gpt2": build("gpt2", pre_tokenizers.ByteLevel(add_prefix_space=False), train),
        "gpt2_prefix": build("gpt2_prefix", pre_tokenizers.ByteLevel(add_prefix_space=True), train),
        "cl100k": build("cl100k", pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(CL100K), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)]), train, ignore_merges=True),
        "o200k": build("o200k", pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(O200K), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)]), train),
    }
    corpus = [s.encode() for s in HARD] + [gen_doc(rng, rng.randint(1, 80)).encode() for _ in range(300)]
    corpus += INVALID
    with open(os.path.join(out, "cases.tsv"), "w") as f:
        for name, tok in toks.items():
            tok.save(os.path.join(out, name + ".json"))
            for raw in corpus:
                try:
                    text, flags = raw.decode("utf-8"), 1
                except UnicodeDecodeError:
                    text, flags = raw.decode("utf-8", "replace"), 1 | 4
                ids = tok.encode(text).ids
                dec = tok.decode(ids)
                dec_all = tok.decode(ids, skip_special_tokens=False)
                # "-" for an empty field, so that no field is empty
                f.write("\t".join([name, str(flags), raw.hex() or "-", " ".join(map(str, ids)) or "-",
                                    dec.encode().hex() or "-", dec_all.encode().hex() or "-"]) + "\n")


if __name__ == "__main__":
    main()
