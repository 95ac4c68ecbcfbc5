#!/usr/bin/env bash
# The main job, end to end: installs what it needs, builds, trains a character-level LSTM on
# the fortune-cookie corpus for about two minutes, and prints what it writes.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install_deps.sh fortunes
tools/build.sh

mkdir -p out
corpus=out/fortunes.txt
# Every fortune but the ASCII art, in a fixed shuffled order so the held-out tail is like the
# rest (the files are sorted by topic; the last, zippy, is mostly capitals).
find /usr/share/games/fortunes -maxdepth 1 -type f ! -name '*.*' ! -name '*art' -print0 | sort -z |
  xargs -0 cat | awk 'BEGIN { RS = "\n%\n"; ORS = "\0" } { print }' |
  shuf -z --random-source=<(yes) | tr '\0' '\n' > "$corpus"

build/gen_cuda train --data "$corpus" --tokenizer char --cell lstm --layers 1 --hidden 256 \
  --embed 32 --seq-len 64 --batch 32 --steps "${DEMO_STEPS:-1100}" --lr 3e-3 --val-frac 0.01 \
  --eval-every 100 --out out/fortunes.safetensors
echo >&2
seed=1
for prompt in "The " "A computer " "Love is "; do
  build/gen_cuda sample -m out/fortunes.safetensors -p "$prompt" -n 300 --temperature 0.5 -s $((seed++))
  printf '\n\n'
done
