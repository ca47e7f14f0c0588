#!/usr/bin/env bash
# One lent GPU session (issue 21): everything a GPU machine should measure, in one
# command, within 8 minutes on an H100. Run from anywhere; it works in the repository
# root. Each result lands in $OUT as soon as it exists, so a step that fails or runs
# out of time keeps what came before it:
#   session.txt          each step's exit status and seconds (the wheel install too)
#   env.txt              GPU, driver, Python and package versions; what is missing
#   pytest_gpu.log/.xml  `pytest -m gpu`: the exactness tests on CUDA in fp32
#   bf16_agreement.tsv   bf16 greedy vs generate(): agreement and the logit gap of
#                        every disagreement (reported, not asserted)
#   gpu.log, gpu.tsv     benchmarks/gpu.py, its TSV written row by row
#
#   bash benchmarks/gpu_session.sh --fetch   here, with PyPI: the wheels of
#                                            benchmarks/gpu_wheels.txt into .whl/
#   bash benchmarks/gpu_session.sh           on the GPU machine (.whl/ carried)
#   bash benchmarks/gpu_session.sh --tiny    a CPU rehearsal of the same steps: GPUs
#                                            hidden, jsonschema and snakemake made
#                                            unimportable as on the image, tiny models
# Without $OUT, results go to benchmarks/output/gpu-session/.
set -uo pipefail
cd "$(dirname "$0")/.."
MODE=${1:-gpu}
PY=${PYTHON:-python3}
WHEELS=benchmarks/gpu_wheels.txt
case $MODE in gpu | --tiny | --fetch) ;; *)
	echo "usage: $0 [--tiny | --fetch]" >&2
	exit 2
	;;
esac
if [ "$MODE" = --fetch ]; then
	mkdir -p .whl
	# shellcheck disable=SC2046
	exec "$PY" -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
		--implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
		--platform manylinux2014_x86_64 -d .whl $(grep -v '^#' "$WHEELS")
fi
OUT=${OUT:-$PWD/benchmarks/output/gpu-session}
mkdir -p "$OUT"
: >"$OUT/session.txt"
SITE=${GPU_SESSION_SITE:-/tmp/genomic-icl-site}
PYTHONPATH=$PWD/src:$SITE${PYTHONPATH:+:$PYTHONPATH}
if [ "$MODE" = --tiny ]; then
	PYTHONPATH=$PWD/tests/support/gpu_image:$PYTHONPATH
	export CUDA_VISIBLE_DEVICES=""
fi
export PYTHONPATH PYTHONUNBUFFERED=1 GENOMIC_ICL_REPORT_DIR=$OUT HF_HUB_OFFLINE=1

# step NAME SECONDS COMMAND...: run it under a time limit, output to $OUT/NAME.log
step() {
	local name=$1 limit=$2 start rc
	shift 2
	start=$SECONDS
	timeout -k 10 "$limit" "$@" >"$OUT/$name.log" 2>&1
	rc=$?
	echo "$name: exit $rc, $((SECONDS - start)) s (limit $limit s)" | tee -a "$OUT/session.txt"
	return $rc
}

status=0
if [ "$MODE" = --tiny ]; then # the wheels are the device's (cp312): this Python's own packages
	echo "wheels: not installed (--tiny uses this environment's packages)" | tee -a "$OUT/session.txt"
elif compgen -G ".whl/*.whl" >/dev/null; then
	start=$SECONDS
	"$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
		--target "$SITE" .whl/*.whl >>"$OUT/session.txt" 2>&1 || status=1
	echo "wheels: exit $status, $((SECONDS - start)) s ($(ls .whl | tr '\n' ' '))" |
		tee -a "$OUT/session.txt"
fi

step env 60 "$PY" - "$WHEELS" <<'PY' || status=1
import importlib.metadata as md, importlib.util, os, platform, subprocess, sys
print("python", sys.version.split()[0], platform.platform())
print("PYTHONPATH", os.environ.get("PYTHONPATH"))
import torch
print("torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available())
for i in range(torch.cuda.device_count()):
    p = torch.cuda.get_device_properties(i)
    print(f"cuda:{i} {p.name} {p.total_memory / 2**30:.1f} GiB sm_{p.major}{p.minor}")
wanted = [l.split("==")[0] for l in open(sys.argv[1]) if l.strip() and not l.startswith("#")]
for name in ["transformers", "numpy", "pandas", "pyarrow", "einops", "triton", *wanted]:
    try:
        print(f"{name} {md.version(name)}")
    except md.PackageNotFoundError:
        print(f"{name} MISSING")
for module in ("jsonschema", "snakemake", "flash_attn_2_cuda", "transformer_engine"):
    print(f"{module}: {'importable' if importlib.util.find_spec(module) else 'absent'}")
import genomic_icl.inference, genomic_icl.models.evo2, genomic_icl.models.hf  # noqa: E401
print("genomic_icl", genomic_icl.inference.__file__)
if torch.cuda.is_available():
    print(subprocess.run(["nvidia-smi"], capture_output=True, text=True).stdout)
PY
cp "$OUT/env.log" "$OUT/env.txt" && rm "$OUT/env.log"

if [ "$MODE" = --tiny ]; then
	select=(-m "not slow" -k cpu)
	models=qwen3-0.6b
	"$PY" -c "import vortex" 2>/dev/null && models+=,evo2-7b
	bench=(--tiny --models $models --shots 1,8 --per-n 6 --generate-per-n 3 --sweep 64,4096)
else
	select=(-m gpu)
	bench=(--models qwen3-0.6b,evo2-7b,qwen3-8b --shots 1,8,32,128 --per-n 128
		--generate-per-n 8 --sweep 16384,65536,262144)
fi
step pytest_gpu 150 "$PY" -m pytest -q -rA -p no:cacheprovider "${select[@]}" \
	--junitxml="$OUT/pytest_gpu.xml" tests/test_inference.py tests/test_evo2.py || status=1
step gpu 270 "$PY" benchmarks/gpu.py "${bench[@]}" --out "$OUT/gpu.tsv" || status=1
echo "done: exit $status, $SECONDS s in all" | tee -a "$OUT/session.txt"
exit $status
