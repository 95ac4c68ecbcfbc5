"""Loss curves from training logs: `python -m genrnn.plot LOG.csv [LOG.csv ...] -o curve.png`.

Reads the CSV files `gen_cuda train --log-csv` writes (step, train_loss, val_loss,
tokens_per_second, elapsed_seconds, tokens) and draws each run's training loss (light: every
step; dark: a centred moving average) and validation loss (dots) against steps or tokens, in nats per
token on the left axis and bits per token on the right. Needs matplotlib.
"""
from __future__ import annotations

import argparse
import csv
import math
import os
import sys
from typing import List, Optional, Sequence

from ._genrnn import Error


def _read_log(path: str) -> dict:
    columns = {"step": [], "train_loss": [], "val_loss": [], "tokens": []}
    not_a_log = Error(f"log file '{path}' is not a training log (gen_cuda train --log-csv)")
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
    except OSError as e:
        raise Error(f"cannot read log file '{path}': {e.strerror}") from None
    except (UnicodeDecodeError, csv.Error):
        raise not_a_log from None
    if not rows or "step" not in rows[0] or "train_loss" not in rows[0]:
        raise not_a_log
    number = lambda text: float(text) if text not in (None, "") else math.nan  # noqa: E731
    try:
        for row in rows:
            for name in columns:
                columns[name].append(number(row.get(name)))
    except ValueError:
        raise Error(f"log file '{path}' has a value that is not a number") from None
    return columns


def _moving_average(values: List[float], window: int) -> List[float]:
    """The mean of the values (NaN skipped) within window / 2 steps either side: a centred curve."""
    sums, counts = [0.0], [0]
    for value in values:
        missing = math.isnan(value)
        sums.append(sums[-1] + (0.0 if missing else value))
        counts.append(counts[-1] + (0 if missing else 1))
    half = window // 2
    averaged = []
    for i in range(len(values)):
        lo, hi = max(0, i - half), min(len(values), i + half + 1)
        count = counts[hi] - counts[lo]
        averaged.append((sums[hi] - sums[lo]) / count if count else math.nan)
    return averaged


def plot_training(logs: Sequence[str], out: str, *, x: str = "steps", labels: Optional[Sequence[str]] = None,
                  title: Optional[str] = None, smooth: int = 0) -> None:
    """Draw the training and validation loss of one or more --log-csv files into an image file.

    x: "steps" or "tokens" (tokens trained on); labels: one per log (default: the file names);
    smooth: the moving average's window in steps (0: a fiftieth of the run). The format
    follows out's extension (.png, .svg, .pdf). Raises genrnn.Error for a bad log or a missing
    matplotlib.
    """
    if x not in ("steps", "tokens"):
        raise Error(f"x must be steps or tokens, not {x!r}")
    if labels is not None and len(labels) != len(logs):
        raise Error(f"{len(labels)} labels for {len(logs)} logs")
    if not logs:
        raise Error("no log file to plot")
    runs = [_read_log(os.fspath(path)) for path in logs]
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise Error("plotting needs matplotlib: pip install matplotlib") from None

    figure, nats = plt.subplots(figsize=(8, 4.5), dpi=120)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for k, (run, path) in enumerate(zip(runs, logs)):
        label = labels[k] if labels is not None else os.path.basename(os.fspath(path))
        color = colors[k % len(colors)]
        along = run["step"] if x == "steps" else run["tokens"]
        if x == "tokens" and all(math.isnan(t) for t in along):
            raise Error(f"log file '{path}' has no tokens column (written before genrnn 0.1.0's logs had one)")
        window = smooth if smooth > 0 else max(1, len(along) // 50)
        nats.plot(along, run["train_loss"], color=color, alpha=0.25, linewidth=0.8)
        nats.plot(along, _moving_average(run["train_loss"], window), color=color, linewidth=1.6,
                  label=f"{label}: train")
        val = [(a, v) for a, v in zip(along, run["val_loss"]) if not math.isnan(v)]
        if val:
            nats.plot(*zip(*val), color=color, linestyle="--", marker="o", markersize=3.5,
                      label=f"{label}: validation")
    nats.set_xlabel("step" if x == "steps" else "tokens trained on")
    nats.set_ylabel("loss (nats per token)")
    bits = nats.secondary_yaxis("right", functions=(lambda n: n / math.log(2), lambda b: b * math.log(2)))
    bits.set_ylabel("bits per token")
    nats.grid(True, alpha=0.3)
    nats.legend(fontsize="small")
    nats.set_title(title or "training loss")
    figure.tight_layout()
    try:
        figure.savefig(out)
    except OSError as e:
        raise Error(f"cannot write '{out}': {e.strerror}") from None
    finally:
        plt.close(figure)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m genrnn.plot", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("logs", nargs="+", metavar="LOG.csv", help="gen_cuda train --log-csv files")
    parser.add_argument("-o", "--out", required=True, metavar="FILE", help="image to write (.png, .svg, .pdf)")
    parser.add_argument("--x", choices=["steps", "tokens"], default="steps", help="horizontal axis (default steps)")
    parser.add_argument("--labels", nargs="+", metavar="NAME", help="one name per log (default: file names)")
    parser.add_argument("--title", help="chart title")
    parser.add_argument("--smooth", type=int, default=0, metavar="N",
                        help="moving average over N steps (default: a fiftieth of the run)")
    args = parser.parse_args(argv)
    try:
        plot_training(args.logs, args.out, x=args.x, labels=args.labels, title=args.title, smooth=args.smooth)
    except Error as e:
        print(f"genrnn.plot: error: {e}", file=sys.stderr)
        return 1
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
