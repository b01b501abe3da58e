#!/usr/bin/env bash
# The GPU check: one command for a CUDA machine, about 8 minutes, everything under reports/gpu/.
#   1. CUDA against CPU parity in float64 (two-layer engine, train_deep, empirical and layer-wise NTK):
#      tests/test_cuda_parity.py, the same numbers to 1e-10;
#   2. both benchmarks with --device cuda (--quick): reports/gpu/bench-engine.json, bench-deep.json;
#   3. a timed slice of the standard profile on the GPU(s), one pytest-xdist worker per GPU.
# On a machine without CUDA it says so and exits 0 (--require-gpu: exits 2 instead).
# Usage: bash benchmarks/gpu_check.sh [--require-gpu]
set -uo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} MPLBACKEND=Agg PYTHONUNBUFFERED=1
PY=${PYTHON:-python}
OUT=reports/gpu
require=0
for a in "$@"; do
  case "$a" in
    --require-gpu) require=1 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "gpu_check: unknown argument $a (see --help)" >&2; exit 2 ;;
  esac
done

if ! "$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
  echo "gpu_check: no CUDA device here (torch.cuda.is_available() is False, or torch is missing): nothing to check."
  echo "gpu_check: run it on a machine with an NVIDIA GPU and a CUDA build of torch."
  exit $((require * 2))
fi

mkdir -p "$OUT"
gpus=$("$PY" -c "import torch; print(torch.cuda.device_count())")
"$PY" - > "$OUT/device.txt" <<'PYEOF'
import platform, torch
print("torch", torch.__version__, "cuda", torch.version.cuda, "| python", platform.python_version())
for i in range(torch.cuda.device_count()):
    p = torch.cuda.get_device_properties(i)
    print(f"GPU {i}: {p.name}, {p.total_memory / 2**30:.1f} GiB, {p.multi_processor_count} SMs")
PYEOF
cat "$OUT/device.txt"
status=0
step() {  # step NAME SECONDS COMMAND...: run with a time limit, log to $OUT/NAME.log, record the outcome
  local name=$1 limit=$2; shift 2
  local t0=$(date +%s)
  timeout "$limit" "$@" > "$OUT/$name.log" 2>&1
  local rc=$?
  echo "$name: exit $rc in $(( $(date +%s) - t0 )) s (log: $OUT/$name.log)" | tee -a "$OUT/summary.txt"
  [ $rc -eq 0 ] || status=1
}
: > "$OUT/summary.txt"
step parity 150 "$PY" -m pytest tests/test_cuda_parity.py -q -p no:cacheprovider -rs
step bench-engine 150 "$PY" benchmarks/bench_engine.py --quick --device cuda --out "$OUT/bench-engine.json"
step bench-deep 120 "$PY" benchmarks/bench_deep.py --quick --device cuda --out "$OUT/bench-deep.json"
step standard-slice 240 "$PY" -m pytest claims -q -p no:cacheprovider -n "$gpus" --device=cuda \
  --claims-profile=standard --claims-budget=20 --claims-report-dir="$OUT/claims" --claims-no-history \
  -k "du2018 and (gd_linear_rate or lambda0_positive or h0_concentration or drift_scaling) or dllwz2019 and linear_rate"
tail -n 3 "$OUT/parity.log" "$OUT/standard-slice.log" 2>/dev/null
echo "gpu_check: done, status $status; results under $OUT/ (commit them, and the CUDA rows into reports/bench.json)"
exit $status
