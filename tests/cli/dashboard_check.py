"""The dashboard of `weir run --dashboard`, checked as its users meet it:
/api/stats as JSON, /metrics through prometheus_client's own parser, and
the page in headless Chromium during the run (every operator shown, the
numbers moving) and after it (the summary), with screenshots kept as
artifacts. Run by test_cli; exits non-zero on the first failure."""
import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

ap = argparse.ArgumentParser()
ap.add_argument("--weir", required=True)
ap.add_argument("--plugin", required=True)
ap.add_argument("--workdir", required=True)
ap.add_argument("--artifacts", required=True)
args = ap.parse_args()
os.makedirs(args.artifacts, exist_ok=True)


def fail(msg):
    print("dashboard_check: FAIL:", msg, file=sys.stderr)
    sys.exit(1)


chromium = shutil.which("chromium") or shutil.which("chromium-browser")
if not chromium:
    if os.environ.get("WEIR_TEST_ALLOW_SKIP") == "1":
        print("dashboard_check: chromium missing; skipped (WEIR_TEST_ALLOW_SKIP=1)")
        sys.exit(0)
    fail("chromium is not installed (Debian package chromium; .ci/setup installs it)")

# Chromium's first start on a fresh machine builds its font cache and
# profile, which took over a minute on a CI machine: pay for it before
# the run starts, so the watched run is not over before the page loads.
profile = tempfile.mkdtemp(prefix="weir-chromium-")
warm = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu",
                       "--disable-dev-shm-usage", "--no-first-run", f"--user-data-dir={profile}",
                       "--dump-dom", "about:blank"], capture_output=True, text=True, timeout=300)
if warm.returncode != 0:
    fail(f"chromium does not start: exit {warm.returncode}: {warm.stderr[-2000:]}")

# 3000 blocks of 1000 rows through one worker sleeping 100 ms a block: the
# run moves slowly while the browser watches (for nearly five minutes, so
# the numbers move between two page loads however slow the browser); after
# 2900 blocks it holds, still running, until the test creates the release
# file; once released it ends fast.
ROWS = 3000000
release = os.path.join(args.workdir, "dash_release")
spec = os.path.join(args.workdir, "dash.yaml")
with open(spec, "w") as f:
    f.write(f"""plugin: {args.plugin}
pipeline:
  memory_budget: 64MiB
  progress: false
  summary: false
ops:
  - name: gen
    op: test_counter
    num_rows: {ROWS}
    rows_per_block: 1000
  - name: slow
    op: test_sleep
    input: gen
    ms_per_block: 100
    max_workers: 1
    release_file: {release}
    hold_after_blocks: 2900
  - name: out
    op: write_jsonl
    input: slow
    uri: dash_out/
""")
err_path = os.path.join(args.workdir, "dash_stderr.txt")
errf = open(err_path, "w")
proc = subprocess.Popen([args.weir, "run", spec, "--dashboard", "127.0.0.1:0",
                         "--dashboard-linger", "120"], cwd=args.workdir,
                        stdout=subprocess.DEVNULL, stderr=errf)
try:
    port = None
    for _ in range(200):
        m = re.search(r"dashboard at http://127\.0\.0\.1:(\d+)/", open(err_path).read())
        if m:
            port = int(m.group(1))
            break
        if proc.poll() is not None:
            fail("weir exited early: " + open(err_path).read())
        time.sleep(0.05)
    if not port:
        fail("no dashboard address on stderr")
    base = f"http://127.0.0.1:{port}"

    def get(path, method="GET"):
        req = urllib.request.Request(base + path, method=method)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, r.headers.get("Content-Type", ""), r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.headers.get("Content-Type", ""), e.read().decode()

    status, ctype, body = get("/api/stats")
    if status != 200 or not ctype.startswith("application/json"):
        fail(f"/api/stats: {status} {ctype}")
    st = json.loads(body)
    for key in ["pipeline", "operators", "graph", "state", "events"]:
        if key not in st:
            fail(f"/api/stats lacks {key}")
    ops = [o["name"] for o in st["operators"]]
    if ops != ["gen", "slow", "encode_jsonl", "write_jsonl"]:
        fail(f"operators {ops}")
    if [n["name"] for n in st["graph"]["nodes"]] != ["gen", "slow", "out"]:
        fail(f"graph nodes {st['graph']['nodes']}")
    if st["graph"]["edges"] != [["gen", "slow"], ["slow", "out"]]:
        fail(f"graph edges {st['graph']['edges']}")

    # /metrics through the real parser; every operator labelled.
    status, ctype, body = get("/metrics")
    if status != 200 or "text/plain" not in ctype or "version=0.0.4" not in ctype:
        fail(f"/metrics: {status} {ctype}")
    fams = {f.name: f for f in text_string_to_metric_families(body)}
    for name, typ in [("weir_op_rows_out", "counter"), ("weir_op_bytes_out", "counter"),
                      ("weir_op_busy_seconds", "counter"), ("weir_op_workers", "gauge"),
                      ("weir_op_queue_blocks", "gauge"), ("weir_pipeline_bytes_in_flight", "gauge"),
                      ("weir_pipeline_memory_budget_bytes", "gauge")]:
        if name not in fams or fams[name].type != typ:
            fail(f"/metrics: family {name} ({typ}) missing: {sorted(fams)}")
    labelled = {s.labels["op"] for s in fams["weir_op_rows_out"].samples}
    if labelled != set(ops):
        fail(f"/metrics op labels {labelled}")
    budget = fams["weir_pipeline_memory_budget_bytes"].samples[0].value
    if budget != 64 * 1024 * 1024:
        fail(f"memory budget {budget}")

    # Read-only: nothing but GET and HEAD; unknown routes 404.
    if get("/api/stats", "POST")[0] != 405 or get("/api/stats", "DELETE")[0] != 405:
        fail("a write method was not refused")
    if get("/nope")[0] != 404:
        fail("unknown route not 404")

    def chrome(*extra, budget_ms=2500):
        cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
               "--no-first-run", "--hide-scrollbars", f"--user-data-dir={profile}",
               "--window-size=1400,1500", f"--virtual-time-budget={budget_ms}", *extra,
               base + "/?interval=400"]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            fail(f"chromium exit {r.returncode}: {r.stderr[-2000:]}")
        return r.stdout

    def page_numbers(dom):
        rows = {}
        for m in re.finditer(r'<tr data-op="([^"]+)" data-index="\d+">.*?data-field="rows_out">(\d+)<', dom):
            rows[m.group(1)] = int(m.group(2))
        return rows

    dom1 = chrome("--dump-dom")
    polls = int(re.search(r'data-polls="(\d+)"', dom1).group(1))
    if polls < 1:
        fail("the page never polled /api/stats")
    if 'data-state="running"' not in dom1:
        fail("the page does not show a running pipeline: " + dom1[:300])
    n1 = page_numbers(dom1)
    if set(n1) != set(ops):
        fail(f"the page shows operators {sorted(n1)}, not {ops}")
    for node in ["gen", "slow", "out"]:
        if f'data-node="{node}"' not in dom1:
            fail(f"the graph lacks node {node}")
    if "test_counter" not in dom1 or "write_jsonl" not in dom1:
        fail("the graph does not name the operator kinds")
    chrome(f"--screenshot={os.path.join(args.artifacts, 'dashboard_running.png')}", budget_ms=4000)
    time.sleep(1.5)
    dom2 = chrome("--dump-dom")
    n2 = page_numbers(dom2)
    if not n2 or n2["gen"] <= n1["gen"] or n2["slow"] <= n1["slow"]:
        fail(f"the numbers did not move: {n1} then {n2}")

    # The end: the page shows the summary of a finished run.
    open(release, "w").close()
    for _ in range(1200):
        st = json.loads(get("/api/stats")[2])
        if st["state"] != "running":
            break
        time.sleep(0.1)
    if st["state"] != "done":
        fail(f"run ended in state {st['state']}: {st['error']}")
    hist = json.loads(get("/api/history")[2])
    if len(hist["t"]) < 3 or [o["name"] for o in hist["operators"]] != ops:
        fail(f"/api/history: {len(hist['t'])} samples, operators {[o['name'] for o in hist['operators']]}")
    if hist["operators"][0]["rows_out"][-1] != ROWS:
        fail(f"/api/history ends at {hist['operators'][0]['rows_out'][-1]} rows, not {ROWS}")
    dom3 = chrome("--dump-dom")
    m = re.search(r'data-history="(\d+)"', dom3)
    if not m or int(m.group(1)) < 3:
        fail("the page did not load the run's history")
    if 'data-state="done"' not in dom3 or 'id="summary" hidden' in dom3:
        fail("the finished run's summary is not shown")
    if f'<td data-sum="rows read">{ROWS}</td>' not in dom3:
        fail(f"the summary does not count {ROWS} rows read")
    chrome(f"--screenshot={os.path.join(args.artifacts, 'dashboard_done.png')}", budget_ms=3000)

    # Ctrl-C while lingering ends the process with the run's own status.
    proc.send_signal(signal.SIGINT)
    code = proc.wait(timeout=30)
    if code != 0:
        fail(f"exit {code} after a successful run: " + open(err_path).read()[-2000:])
    lines = sum(1 for fn in os.listdir(os.path.join(args.workdir, "dash_out")) if fn.startswith("part-")
                for _ in open(os.path.join(args.workdir, "dash_out", fn)))
    if lines != ROWS:
        fail(f"{lines} rows written, not {ROWS}")
    print(f"dashboard_check: ok ({polls} polls in the first load; {n1['gen']} -> {n2['gen']} rows; "
          f"screenshots in {args.artifacts})")
finally:
    shutil.rmtree(profile, ignore_errors=True)
    if proc.poll() is None:
        proc.kill()
        proc.wait()
