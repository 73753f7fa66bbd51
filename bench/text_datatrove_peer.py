#!/usr/bin/env python3
"""The peer of bench_text: DataTrove's PII formatter and its Gopher quality,
Gopher repetition, C4 and FineWeb filters, run one document at a time in
one process (one core) over the first N documents of a JSONL file, as a
DataTrove pipeline step runs them. Prints one line: documents, bytes,
seconds, documents kept.

usage: text_datatrove_peer.py DOCS.jsonl [N]
(DataTrove has no CLD2 backend; its fastText language filter needs the
lid.176 download, so the peer's chain has no language id step.)
"""
import json
import sys
import time

from datatrove.data import Document
from datatrove.pipeline.filters import (C4QualityFilter, FineWebQualityFilter,
                                        GopherQualityFilter, GopherRepetitionFilter)
from datatrove.pipeline.formatters import PIIFormatter


def main():
    path = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    docs = []
    with open(path, encoding="utf-8") as f:
        for i, line in enumerate(f):
            if i >= n:
                break
            docs.append(json.loads(line)["text"])
    pii = PIIFormatter(only_remove_public_ips=False)
    filters = [GopherQualityFilter(), GopherRepetitionFilter(), C4QualityFilter(),
               FineWebQualityFilter()]
    # Warm the tokenizer (spaCy's first call loads its tables).
    filters[0].filter(Document(text=docs[0], id="warm"))
    t0 = time.perf_counter()
    kept = 0
    nbytes = 0
    for i, text in enumerate(docs):
        nbytes += len(text.encode("utf-8"))
        doc = Document(text=text, id=str(i))
        doc.text = pii.format(doc.text)
        ok = True
        for flt in filters:
            r = flt.filter(doc)
            if r is not True:
                ok = False
                break
        kept += ok
    dt = time.perf_counter() - t0
    print("docs %d bytes %d seconds %.3f kept %d" % (len(docs), nbytes, dt, kept))


if __name__ == "__main__":
    main()
