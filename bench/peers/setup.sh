#!/usr/bin/env bash
# Installs the peers the benchmarks in bench/peers/ compare weir with, in a
# virtual environment of their own ($WEIR_PEERS_VENV, default
# ~/.cache/weir-peers-venv): Ray Data, PyAV for its video pipeline, psutil
# for the peak memory of a process tree. Benchmark dependencies only: CI
# does not run this. Safe to run again; it prints what it installs.
set -euo pipefail
venv="${WEIR_PEERS_VENV:-$HOME/.cache/weir-peers-venv}"
reqs="$(dirname "$0")/requirements.txt"
if [ ! -x "$venv/bin/python" ]; then
  echo "weir peers: creating the Python environment $venv"
  python3 -m venv "$venv"
fi
stamp="$venv/.weir-peers-requirements"
if ! cmp -s "$reqs" "$stamp"; then
  echo "weir peers: installing into $venv: $(grep -v '^#' "$reqs" | tr '\n' ' ')"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$reqs"
  cp "$reqs" "$stamp"
fi
echo "weir peers: ready ($("$venv/bin/python" -c 'import ray; print("ray", ray.__version__)'))"
