#!/usr/bin/env python3
"""Trains tokenizer.json files with the `tokenizers` package on generated
multilingual text for the components beyond byte-level BPE: WordPiece
(BERT normalizer and pre-tokenizer, [CLS]/[SEP] template, ## decoder),
Unigram (NFKC, Metaspace, <s>/</s> template), a Llama-2-style BPE (Prepend
and Replace normalizers, byte fallback, Replace/ByteFallback/Fuse/Strip
decoders), a character-level BPE with ## and </w> (BPEDecoder) behind
Whitespace/CharDelimiterSplit/Digits, and WordLevel / WordPiece behind
Split with every delimiter behavior, NFD + StripAccents + Lowercase +
Replace(regex) + Strip, Punctuation and individual Digits. Writes the
package's ids and decodes over the hard-case corpus of
tokenizers_reference.py, for test_text_tokenizer.

usage: hf_models_reference.py OUT_DIR
writes OUT_DIR/<name>.json and OUT_DIR/cases.tsv as tokenizers_reference.py does.
"""
import os
import random
import sys

from tokenizers import (AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors,
                        trainers)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tokenizers_reference as ref  # noqa: E402

BYTES = [f"<0x{i:02X}>" for i in range(256)]


def bert(train):
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    tok.train_from_iterator(train, trainers.WordPieceTrainer(
        vocab_size=1500, show_progress=False, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]))
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]", special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
    tok.add_tokens(["hello"])
    return tok


def unigram(train):
    tok = Tokenizer(models.Unigram())
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizers.Metaspace(prepend_scheme="first")
    tok.decoder = decoders.Metaspace(prepend_scheme="first")
    tok.train_from_iterator(train, trainers.UnigramTrainer(
        vocab_size=800, show_progress=False, unk_token="<unk>", special_tokens=["<unk>", "<s>", "</s>"]))
    tok.post_processor = processors.TemplateProcessing(single="<s> $A </s>", special_tokens=[("<s>", 1), ("</s>", 2)])
    return tok


def llama2(train):
    tok = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True, fuse_unk=True))
    tok.normalizer = normalizers.Sequence([normalizers.Prepend("\u2581"), normalizers.Replace(" ", "\u2581")])
    tok.decoder = decoders.Sequence([decoders.Replace("\u2581", " "), decoders.ByteFallback(), decoders.Fuse(),
                                     decoders.Strip(" ", 1, 0)])
    # Short training lines: without a pre-tokenizer a line is one word.
    words = [w for d in train[:1500] for w in d.split()]
    tok.train_from_iterator([" ".join(words[i:i + 4]) for i in range(0, len(words), 4)], trainers.BpeTrainer(
        vocab_size=1200, show_progress=False, special_tokens=["<unk>", "<s>", "</s>"] + BYTES, min_frequency=2))
    tok.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", 1)])
    return tok


def charbpe(train):
    tok = Tokenizer(models.BPE(unk_token="<unk>", continuing_subword_prefix="##", end_of_word_suffix="</w>"))
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.CharDelimiterSplit("-"), pre_tokenizers.Whitespace(),
                                                 pre_tokenizers.Digits(individual_digits=False)])
    tok.decoder = decoders.BPEDecoder(suffix="</w>")
    tok.train_from_iterator(train, trainers.BpeTrainer(
        vocab_size=1500, show_progress=False, special_tokens=["<unk>"], continuing_subword_prefix="##",
        end_of_word_suffix="</w>"))
    return tok


def wordlevel(train):
    tok = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tok.normalizer = normalizers.Sequence([normalizers.NFD(), normalizers.StripAccents(), normalizers.Lowercase(),
                                           normalizers.Replace(Regex(r"\d+"), "0"), normalizers.Strip()])
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(),
                                                 pre_tokenizers.Punctuation(behavior="isolated"),
                                                 pre_tokenizers.Digits(individual_digits=True)])
    tok.train_from_iterator(train, trainers.WordLevelTrainer(vocab_size=2000, show_progress=False,
                                                             special_tokens=["[UNK]"]))
    return tok


def splits(train):
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.NFKD()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(" ", behavior="merged_with_next"),
        pre_tokenizers.Split(Regex(r"[.,!?]"), behavior="merged_with_previous"),
        pre_tokenizers.Split(Regex(r"\p{N}"), behavior="contiguous"),
        pre_tokenizers.Split(Regex(r"\s+"), behavior="removed"),
        pre_tokenizers.Split(Regex(r"[^aeiou]+"), behavior="isolated", invert=True),
    ])
    tok.decoder = decoders.WordPiece(cleanup=False)
    tok.train_from_iterator(train, trainers.WordPieceTrainer(vocab_size=1200, show_progress=False,
                                                             special_tokens=["[UNK]"]))
    tok.add_special_tokens([AddedToken("<sep>", lstrip=True, rstrip=True)])
    return tok


def main():
    out = sys.argv[1]
    rng = random.Random(19)
    train = [ref.gen_doc(rng, rng.randint(5, 60)) for _ in range(3000)]
    toks = {"bert": bert(train), "unigram": unigram(train), "llama2": llama2(train), "charbpe": charbpe(train),
            "wordlevel": wordlevel(train), "splits": splits(train)}
    corpus = [s.encode() for s in ref.HARD] + [ref.gen_doc(rng, rng.randint(1, 60)).encode() for _ in range(150)]
    corpus += [b"ligature \xef\xac\x81 and \xe2\x84\xab and \xc3\x85ngstr\xc3\xb6m", b"x <sep>  y<sep>z",
               b"\xc4\xb0stanbul \xce\xa3\xce\x99\xce\xa3", b"hello-world-again 123-456"]
    corpus += ref.INVALID
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
                f.write("\t".join([name, str(flags), raw.hex() or "-", " ".join(map(str, ids)) or "-",
                                   dec.encode().hex() or "-", dec_all.encode().hex() or "-"]) + "\n")


if __name__ == "__main__":
    main()
