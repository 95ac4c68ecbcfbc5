#!/usr/bin/env bash
# The main job, end to end: installs what it needs, builds, trains a character-level LSTM on
# the fortune-cookie corpus for two minutes (DEMO_SECONDS), and prints what it writes.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install_deps.sh fortunes
tools/build.sh

mkdir -p out
corpus=out/fortunes.txt
# The fortunes of the `fortunes` package and of `fortunes-min` (which it depends on), whatever
# other fortune packages (other languages, offensive ones) share their folder: every fortune but
# the ASCII art, in a fixed shuffled order so the held-out tail is like the rest (the files are
# sorted by topic; the last, zippy, is mostly capitals).
dpkg-query -L fortunes-min fortunes | grep -E '^/usr/share/games/fortunes/[^/.]+$' | grep -v 'art$' | sort |
  tr '\n' '\0' | xargs -0 cat | awk 'BEGIN { RS = "\n%\n"; ORS = "\0" } { print }' |
  shuf -z --random-source=<(yes) | tr '\0' '\n' > "$corpus"
# Training is sized by time, not steps: a faster machine (more cores, a GPU) trains more steps
# in the same minutes and writes better text. The step count only caps it.
seconds=${DEMO_SECONDS:-120}
echo "corpus: $(wc -c < "$corpus") bytes of fortunes; training for $seconds s, then sampling" >&2

build/gen_cuda train --data "$corpus" --tokenizer char --cell lstm --layers 1 --hidden 256 \
  --embed 32 --seq-len 64 --batch 32 --steps 1000000 --time-limit "$seconds" --lr 3e-3 --val-frac 0.01 \
  --eval-every 100 --out out/fortunes.safetensors --log-csv out/fortunes.csv
echo "training log: out/fortunes.csv (with the Python package: python -m genrnn.plot out/fortunes.csv -o curve.png)" >&2
echo >&2
seed=1
for prompt in "The " "A computer " "Love is "; do
  build/gen_cuda sample -m out/fortunes.safetensors -p "$prompt" -n 300 --temperature 0.5 -s $((seed++))
  printf '\n\n'
done
