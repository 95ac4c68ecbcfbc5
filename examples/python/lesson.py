"""The generative-RNN lesson's flow with genrnn: a one-hot LSTM of 64 units trained on a text,
then text generated greedily and at several temperatures.

    python examples/python/lesson.py [TEXT_FILE] [--steps N]

TEXT_FILE defaults to the fortune cookies of Debian's `fortunes` package when it is installed
(apt-get install fortunes), else to this repository's README.md.
"""
import argparse
import pathlib
import sys

import genrnn

FORTUNES = pathlib.Path("/usr/share/games/fortunes/fortunes")
README = pathlib.Path(__file__).resolve().parents[2] / "README.md"

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument("text", nargs="?", type=pathlib.Path, default=FORTUNES if FORTUNES.exists() else README)
parser.add_argument("--steps", type=int, default=600, help="training steps (default 600: seconds on 2 cores)")
args = parser.parse_args()
print(f"training on {args.text}", file=sys.stderr)

# The lesson's model: one-hot input (embed=0) -> LSTM(V, 64) -> Linear(64, V).
model = genrnn.train(args.text, cell="lstm", layers=1, hidden=64, embed=0, seq_len=64, batch=32,
                     steps=args.steps, lr=5e-3, eval_every=100)
print(model)
print("greedy:", repr("The " + model.generate("The ", 120, temperature=0)))
for temperature in (0.5, 0.8, 1.2):
    print(f"T={temperature}:", repr("The " + model.generate("The ", 120, temperature=temperature, seed=1)))
