#!/usr/bin/env bash
# One GPU call of at most 10 minutes: the environment benchmark at 4096 and
# 16384 simulations on MuJoCo Warp, then the hardest real-clip expert continued on the
# GPU from its committed run folder, exported and swept; the run folder's small files
# come back under $OUT (copy them over the committed ones and commit).
#
#   RUN=training/checkpoints/omomo_largebox MINUTES=5 bash scripts/gpu_expert.sh [VERDICT FLAGS]
#
# Needs the project with its [gpu] extra installed (pip install -e ".[gpu]"), or wheels
# for it in .wheels/ where the machine reaches no package index.
set -euo pipefail
RUN=${RUN:-training/checkpoints/omomo_largebox}
MINUTES=${MINUTES:-5}
NUM_ENVS=${NUM_ENVS:-4096}
BACKEND=${BACKEND:-warp}
DEVICE=${DEVICE:-cuda}
BENCH_ENVS=${BENCH_ENVS:-"4096 16384"}
EPISODES=${EPISODES:-16}
OUT=${OUT:-runs/gpu_expert}
PY=${PY:-python3}

if [ -d .wheels ]; then
    "$PY" -m pip install -q --no-index --find-links .wheels -e ".[gpu]"
fi
[ -f "$RUN/clip.npz" ] || { echo "error: $RUN holds no prepared clip (python -m training verdict ... --out $RUN)" >&2; exit 2; }
for n in $BENCH_ENVS; do
    "$PY" benchmarks/env_speed.py --backend "$BACKEND" --device "$DEVICE" --num-envs "$n" \
        --steps 50 --clip "$RUN/clip.npz"
done
"$PY" -m training verdict omomo --clip "$RUN/clip.npz" --out "$RUN" --minutes "$MINUTES" \
    --placement.backend "$BACKEND" --placement.device "$DEVICE" --placement.num-envs "$NUM_ENVS" \
    --workers "$(nproc)" --episodes "$EPISODES" "$@"
mkdir -p "$OUT"
cp "$RUN"/config.json "$RUN"/checkpoint.pt "$RUN"/policy.onnx "$RUN"/verdict.md "$RUN"/verdict.json "$OUT"/
