#!/usr/bin/env bash
# Rebuild the bundled couplet writer, src/rnnlab/assets/couplet-gru, with our own trainer.
#
#   scripts/train_couplet.sh [DATA_DIR] [DEVICE]
#
# DATA_DIR holds tang/tang.jsonl (default: the directory `rnnlab data get tang` installs into,
# downloading the collection if absent); DEVICE is auto (a GPU when there is one).
# The couplets of regulated verse (律诗 lines 3–4 and 5–6) are written to data/couplets/; the test
# file holds the couplets of the poems the bundled poet held out, never trained on.
# The recorded run (config.json and metrics.jsonl in the bundle) trained on 2 shared CPU cores:
# see docs/couplet.md for its time, throughput and scores.
set -euo pipefail

device="${2:-auto}"
if [[ $# -ge 1 ]]; then
    source_dir="$1"
else
    rnnlab data get tang
    source_dir="$(python -c 'from rnnlab.data import data_dir; print(data_dir())')"
fi
run="${RUN:-runs/couplet-gru}"

rnnlab data pairs couplets --source "$source_dir" --out data/couplets
rnnlab seq2seq train --data data/couplets/couplets.train.jsonl --out "$run" \
    --cell gru --embed 128 --encoder-hidden 128 --hidden 256 --attention additive --dropout 0.3 \
    --batch 64 --lr 3e-3 --epochs 12 --max-minutes 55 --seed 0 --threads 1 --device "$device" --no-progress
rnnlab bundle "$run" --out src/rnnlab/assets/couplet-gru
