"""Data Prep Kit's ededup key normalisation, verbatim
(data-processing-lib/python/src/data_processing/utils/transform_utils.py:
TransformUtils.normalize_string), for test_text_dedup: reads JSONL rows
with a "text" field and writes, one line per row in order, the UTF-8 hex
of the normalised text."""
import json
import string
import sys


def normalize_string(doc: str) -> str:
    return (
        doc.replace(" ", "")
        .replace("\n", "")
        .lower()
        .translate(str.maketrans("", "", string.punctuation))
    )


def main() -> None:
    src, dst = sys.argv[1], sys.argv[2]
    with open(src, encoding="utf-8") as f, open(dst, "w") as out:
        for line in f:
            doc = json.loads(line)["text"]
            out.write(normalize_string(doc).encode("utf-8").hex() + "\n")


if __name__ == "__main__":
    main()
