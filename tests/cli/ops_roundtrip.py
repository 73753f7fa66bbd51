"""Every option `weir ops` lists is accepted by the spec loader with the
value `weir ops` documents as its default, and refused, with the option's
file:line:column, when its value has the wrong type. Run by test_cli."""
import argparse
import json
import os
import re
import subprocess
import sys

ap = argparse.ArgumentParser()
ap.add_argument("--weir", required=True)
ap.add_argument("--plugin", required=True)
ap.add_argument("--workdir", required=True)
args = ap.parse_args()

failures = []


def weir(*a):
    return subprocess.run([args.weir, *a], capture_output=True, text=True, cwd=args.workdir)


listing = weir("ops", "--json", "--plugin", args.plugin)
assert listing.returncode == 0, listing.stderr
tables = json.loads(listing.stdout)
kinds = tables["kinds"]
names = [k["name"] for k in kinds]
for want in ["read_jsonl", "read_csv", "read_text", "read_binary", "read_blocks", "write_jsonl",
             "write_csv", "write_blocks", "union", "limit", "repartition", "read_video",
             "read_audio", "read_images", "image_resize", "write_video", "read_parquet",
             "write_parquet", "text_doc_id", "text_pii_redact", "text_lang_id",
             "text_quality_gopher", "text_quality_gopher_repetition", "text_quality_c4",
             "text_quality_fineweb", "dedup_exact", "filter_where", "tokenize", "pack_sequences",
             "chunk_text", "test_counter"]:
    if want not in names:
        failures.append(f"`weir ops --json` lacks {want}")

SAMPLE = {"bool": True, "int": 3, "float": 0.5, "size": "1MiB", "string": "x",
          "float list": [0.5, 0.5, 0.5]}
BAD = {"bool": "maybe", "int": "3.5x", "float": "fast", "size": "12 parsecs", "enum": "no-such-choice",
       "float list": "[1, two]"}


def value_of(opt):
    """The documented default as a spec writes it, or a sample for a required option."""
    d = opt["default"]
    t = opt["type"]
    if d is None:
        if t == "enum":
            return opt["choices"].split("|")[0]
        return SAMPLE[t]
    if t == "bool":
        return d == "true"
    if t == "float list":
        return json.loads(d)
    return d  # ints, floats and sizes as their text: the loader parses it


def spec_lines(kind, values):
    """A JSON spec, one option per line, with inputs made of read_text sources;
    returns (text, {option: line})."""
    lines = ['{"ops": [']
    inputs = []
    for i in range(max(kind["min_inputs"], 0)):
        lines.append(f'  {{"name": "in{i}", "op": "read_text", "uri": "x.txt"}},')
        inputs.append(f"in{i}")
    lines.append(f'  {{"name": "it", "op": {json.dumps(kind["name"])},')
    if inputs:
        lines.append(f'   "inputs": {json.dumps(inputs)},')
    where = {}
    for name, v in values:
        where[name] = len(lines) + 1
        lines.append(f'   {json.dumps(name)}: {json.dumps(v)},')
    lines.append('   "op_end_marker_is_not_an_option": 0')
    lines.append("  }]")
    lines.append(f', "plugin": {json.dumps(args.plugin)}}}')
    return "\n".join(lines) + "\n", where


for kind in kinds:
    opts = kind["options"]
    # The listing by name shows every option with its default.
    one = weir("ops", kind["name"], "--plugin", args.plugin)
    if one.returncode != 0:
        failures.append(f"weir ops {kind['name']}: exit {one.returncode}")
    for o in opts:
        shown = "(required)" if o["required"] else (o["default"] if o["default"] is not None else "(unset)")
        if not re.search(rf"^\s+{re.escape(o['name'])}\s+\S.*\s{re.escape(shown)}\s", one.stdout, re.M):
            failures.append(f"weir ops {kind['name']}: option {o['name']} not shown with {shown}")

    # Defaults (and samples for required options) are accepted.
    text, _ = spec_lines(kind, [(o["name"], value_of(o)) for o in opts])
    text = text.replace(',\n   "op_end_marker_is_not_an_option": 0', "")
    path = os.path.join(args.workdir, f"ok_{kind['name']}.json")
    with open(path, "w") as f:
        f.write(text)
    r = weir("validate", path)
    if r.returncode != 0:
        failures.append(f"defaults of {kind['name']} refused:\n{r.stderr}")

    # Wrong types are refused, each at its own line, and an unknown option too.
    bad = [(o["name"], BAD[o["type"]]) for o in opts if o["type"] in BAD]
    text, where = spec_lines(kind, bad + [(o["name"], value_of(o)) for o in opts
                                          if o["type"] not in BAD and o["required"]])
    path = os.path.join(args.workdir, f"bad_{kind['name']}.json")
    with open(path, "w") as f:
        f.write(text)
    r = weir("validate", path)
    if r.returncode != 2:
        failures.append(f"ill-typed options of {kind['name']}: exit {r.returncode}, not 2")
    for name, _ in bad:
        pat = rf"{re.escape(path)}:{where[name]}:\d+: operator 'it': option '{re.escape(name)}'"
        if not re.search(pat, r.stderr):
            failures.append(f"{kind['name']}.{name}: no error at line {where[name]}:\n{r.stderr}")
    if "unknown option 'op_end_marker_is_not_an_option'" not in r.stderr:
        failures.append(f"{kind['name']}: an unknown option was not reported:\n{r.stderr}")

# Pipeline options: the same round trip.
pipe = tables["pipeline"]
vals = {o["name"]: value_of(o) for o in pipe if o["default"] is not None}
path = os.path.join(args.workdir, "pipeline_ok.json")
with open(path, "w") as f:
    json.dump({"pipeline": vals, "ops": [{"name": "a", "op": "read_text", "uri": "x"}]}, f)
r = weir("validate", path)
if r.returncode != 0:
    failures.append(f"pipeline defaults refused:\n{r.stderr}")

print(f"ops_roundtrip: {len(kinds)} kinds, {sum(len(k['options']) for k in kinds)} options, "
      f"{len(pipe)} pipeline options checked")
for f in failures:
    print("FAIL:", f, file=sys.stderr)
sys.exit(1 if failures else 0)
