#!/usr/bin/env python3
"""Generates an English corpus whose documents sit near every threshold of
DataTrove's Gopher quality, Gopher repetition, C4 and FineWeb filters, and
writes, per document, DataTrove's decisions (drop reason or "") and spaCy's
words, for test_text_datatrove to compare with weir's.

usage: datatrove_reference.py OUT.jsonl [NUM_DOCS] [SEED]
Needs datatrove (0.10) and spacy in the interpreter that runs it.
"""
import json
import random
import sys

from datatrove.data import Document
from datatrove.pipeline.filters import (C4QualityFilter, FineWebQualityFilter,
                                        GopherQualityFilter, GopherRepetitionFilter)
from datatrove.utils.word_tokenizers import load_word_tokenizer

WORDS = ("the be to of and that have with a in it for on as at by from this an or we they "
         "people time year way day man thing woman life child world school state family "
         "student group country problem hand part place case week company system program "
         "question work government number night point home water room mother area money "
         "story fact month lot right study book eye job word business issue side kind head "
         "house service friend father power hour game line end member law car city community "
         "name president team minute idea kid body information back parent face others level "
         "office door health person art war history party result change morning reason "
         "research girl guy moment air teacher force education extraordinarily internationalization "
         "a I go see get make know think take come give look use find tell ask seem feel try "
         "leave call good new first last long great little own other old big high different "
         "small large next early young important few public bad same able").split()
ODD = ["don't", "it's", "can't", "I'm", "we're", "they've", "e.g.", "i.e.", "U.S.", "Mr.", "Dr.",
       "3.5kg", "10%", "$20", "well-known", "state-of-the-art", "http://example.com/a?b=c",
       "www.example.org", "user@example.com", "(see", "note)", "\"quoted\"", "'single'",
       "café", "naïve", "“smart”", "—", "–", "…", "1990s", "5pm", "A4", "x86-64", "#hashtag",
       "C++", "#", "...", "&", "*", "2+2", "3/4", "a.m.", "Jan.", "etc.", "vs.", ":)", "o'clock",
       "rock'n'roll", "Ph.D.", "U.K.", "#1", "10:30", "-", "•", "cannot", "gonna", "'s", "dont"]
END = [".", ".", ".", "!", "?", "...", "", "\"", "'", "…", ";", ":"]


def sentence(rng, n=None, odd=0.08):
    n = n or rng.randint(3, 16)
    ws = []
    for _ in range(n):
        ws.append(rng.choice(ODD) if rng.random() < odd else rng.choice(WORDS))
    if ws:
        ws[0] = ws[0][:1].upper() + ws[0][1:]
    return " ".join(ws) + rng.choice(END)


def paragraph(rng, sentences=None, odd=0.08):
    return " ".join(sentence(rng, odd=odd) for _ in range(sentences or rng.randint(1, 5)))


def make_doc(rng):
    kind = rng.randrange(16)
    if kind == 0:   # near 50 words
        return sentence(rng, rng.randint(40, 60), odd=0.05)
    if kind == 1:   # bullets
        lines = [("- " if rng.random() < 0.9 else "• ") + sentence(rng) for _ in range(rng.randint(3, 20))]
        if rng.random() < 0.5:
            lines.insert(0, paragraph(rng, 3))
        return "\n".join(lines)
    if kind == 2:   # hashes and ellipses
        return " ".join(sentence(rng) + (" #" + rng.choice(WORDS) if rng.random() < 0.5 else "")
                        + (" ..." if rng.random() < 0.3 else "") for _ in range(rng.randint(4, 12)))
    if kind == 3:   # end ellipsis lines
        return "\n".join(sentence(rng) + ("..." if rng.random() < 0.35 else "") for _ in range(rng.randint(4, 15)))
    if kind == 4:   # repeated lines
        base = [sentence(rng) for _ in range(rng.randint(3, 8))]
        return "\n".join(rng.choice(base) for _ in range(rng.randint(5, 20)))
    if kind == 5:   # repeated paragraphs
        base = [paragraph(rng) for _ in range(rng.randint(2, 5))]
        return "\n\n".join(rng.choice(base) for _ in range(rng.randint(3, 8)))
    if kind == 6:   # repeated n-grams
        gram = " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 6)))
        parts = [paragraph(rng, 2)] + [gram] * rng.randint(2, 12) + [paragraph(rng, 2)]
        rng.shuffle(parts)
        return " ".join(parts)
    if kind == 7:   # lorem ipsum / javascript / policy / curly
        extra = rng.choice(["Lorem ipsum dolor sit amet, consectetur adipiscing elit.",
                            "Please enable JavaScript in your browser to continue.",
                            "By using this site you agree to our Terms of Use and Privacy Policy.",
                            "This site uses cookies to improve your experience.",
                            "function f() { return 1; } is a snippet of code.",
                            "See the citation here.[1] And more text follows.[citation needed]",
                            "This is an [edit] of the text with a [12] reference."])
        lines = [paragraph(rng) for _ in range(rng.randint(2, 8))]
        lines.insert(rng.randrange(len(lines) + 1), extra)
        return "\n".join(lines)
    if kind == 8:   # no punctuation
        return "\n".join(" ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 14)))
                         for _ in range(rng.randint(2, 12)))
    if kind == 9:   # short lines
        return "\n".join(sentence(rng, rng.randint(1, 8)) for _ in range(rng.randint(3, 25)))
    if kind == 10:  # symbol heavy
        return " ".join(rng.choice(ODD + ["#", "*", "&", "...", "-", "|", "@", "%", "$"])
                        if rng.random() < 0.4 else rng.choice(WORDS) for _ in range(rng.randint(40, 120)))
    if kind == 11:  # long words / short words
        w = ["extraordinarily", "internationalization", "counterrevolutionaries"] if rng.random() < 0.5 else ["a", "I", "to", "of", "be"]
        return " ".join(rng.choice(w + WORDS[:20]) for _ in range(rng.randint(50, 90))) + "."
    if kind == 12:  # lists with many newlines
        return "\n".join(rng.choice(WORDS) + rng.choice(["", ".", ":"]) for _ in range(rng.randint(10, 60)))
    if kind == 13:  # capitalised stop words only
        return " ".join(rng.choice(["The", "Be", "To", "Of", "And", "cat", "dog", "runs", "fast"]) for _ in range(rng.randint(50, 80))) + "."
    # ordinary prose, sometimes long
    return "\n\n".join(paragraph(rng, rng.randint(2, 6)) for _ in range(rng.randint(1, 8)))


def main():
    out = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 3000
    rng = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 14)
    tok = load_word_tokenizer("eng")
    filters = {"gopher": GopherQualityFilter(), "gopher_rep": GopherRepetitionFilter(),
               "c4": C4QualityFilter(), "fineweb": FineWebQualityFilter()}
    with open(out, "w", encoding="utf-8") as f:
        for i in range(n):
            text = make_doc(rng)
            rec = {"id": i, "text": text, "words": " ".join(tok.word_tokenize(text))}
            for name, flt in filters.items():
                doc = Document(text=text, id=str(i))
                try:
                    r = flt.filter(doc)
                except ZeroDivisionError:
                    r = (False, "zero_division")
                rec[name] = "" if r is True else (r[1] if isinstance(r, tuple) else "filtered")
                if name == "c4":
                    rec["c4_text"] = doc.text
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
