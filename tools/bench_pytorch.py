#!/usr/bin/python3
"""The PyTorch twin of `gen_cuda bench`: the same tests, flags and records, measured in PyTorch.

The model is genrnn's own PyTorch module (tools/genrnn_model.py) with random weights and random
token ids; every comma list on the command line is expanded and every combination measured.
  train    one training step: forward, cross-entropy, backward, clip_grad_norm_(5), Adam(2e-3),
           the hidden state carried (detached) from step to step
  prefill  the model over a [batch, seq_len] prompt from a zero state, in eval mode, no grad
  decode   the lesson's loop: softmax(logits / T), torch.multinomial, each id read back to the
           host, fed back with the state carried; n_decode tokens per stream, each step timed
           for the per-token latency (median and 99th percentile)
  sample   softmax(logits / T) + multinomial alone, over [batch, vocab] random logits
Results go to stdout (-o md|csv|json), progress to stderr. Works with torch 1.13 on the CPU and
with torch 2.x on CUDA (--compile needs torch.compile, i.e. torch >= 2.0).

Examples:
  bench_pytorch.py --standard bench/standard.json --suite cpu -o json > pytorch.json
  bench_pytorch.py --device cuda --hidden 256,512 --batch 1,64 --test decode
"""
import argparse
import csv
import json
import math
import os
import statistics
import subprocess
import sys
import time
from functools import partial
from itertools import product
from pathlib import Path

import torch
import torch.nn.functional as F

from bench_common import (RECORD_FIELDS, case_label, length_label, markdown_table, rate_label,
                          shape_label)
from genrnn_model import CELLS, GenRNN

TESTS = ("train", "prefill", "decode", "sample")
MODEL_FIELDS = ("cell", "layers", "hidden", "embed", "vocab")
LEARNING_RATE = 2e-3
CLIP_NORM = 5.0
TEMPERATURE = 1.0
# torch.compile with CUDA graphs warms up on the first call and records on the second.
COMPILE_EXTRA_WARMUP = 2


# --- command line -----------------------------------------------------------------------------

def comma_list(convert, choices=None):
    """An argparse type: a comma list whose items pass convert (and are among choices)."""
    def parse(text):
        items = [convert(item.strip()) for item in text.split(",") if item.strip()]
        bad = [item for item in items if choices is not None and item not in choices]
        if not items or bad:
            raise argparse.ArgumentTypeError(
                f"{text!r}: expected a comma list of {', '.join(map(str, choices or ['values']))}")
        return items
    return parse


def int_at_least(minimum):
    """A converter to int that rejects values below minimum."""
    def convert(text):
        value = int(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{value} is below the minimum {minimum}")
        return value
    return convert


def load_standard(path_text):
    """An argparse type: the standard configurations file, parsed."""
    try:
        return json.loads(Path(path_text).read_text())
    except (OSError, ValueError) as e:
        raise argparse.ArgumentTypeError(f"cannot read {path_text}: {e}")


def suite_name(args, device):
    """The standard suite to run on device: --suite, else gpu on cuda and cpu on cpu."""
    return args.suite or ("gpu" if device == "cuda" else "cpu")


def parse_args(argv=None):
    """The command line, with the same flags as `gen_cuda bench`."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    positive, natural = comma_list(int_at_least(1)), comma_list(int_at_least(0))
    default_device = "cuda" if torch.cuda.is_available() else "cpu"
    parser.add_argument("--device", metavar="LIST", type=comma_list(str, ("cpu", "cuda")),
                        default=[default_device],
                        help=f"cpu and/or cuda (default: {default_device})")
    parser.add_argument("--cell", metavar="LIST", type=comma_list(str, tuple(CELLS)), default=["lstm"],
                        help=f"{', '.join(CELLS)} (default: lstm)")
    parser.add_argument("--layers", metavar="LIST", type=positive, default=[1], help="default: 1")
    parser.add_argument("--hidden", metavar="LIST", type=positive, default=[256], help="default: 256")
    parser.add_argument("--embed", metavar="LIST", type=natural, default=[0],
                        help="embedding size; 0 = one-hot input (default: 0)")
    parser.add_argument("--vocab", metavar="LIST", type=positive, default=[96], help="default: 96")
    parser.add_argument("--batch", metavar="LIST", type=positive, default=[32], help="default: 32")
    parser.add_argument("--seq-len", metavar="LIST", type=positive, default=[100],
                        help="train and prefill window (default: 100)")
    parser.add_argument("-n", "--n-decode", metavar="LIST", type=positive, default=[128],
                        help="tokens per stream in decode (default: 128)")
    parser.add_argument("--test", metavar="LIST", type=comma_list(str, TESTS), default=list(TESTS),
                        help="train, prefill, decode and/or sample (default: all four)")
    parser.add_argument("-r", "--repetitions", type=int_at_least(1), default=5,
                        help="timed runs per measurement (default: 5)")
    parser.add_argument("--warmup", type=int_at_least(0), default=1,
                        help="untimed runs before them (default: 1)")
    parser.add_argument("-o", "--output", choices=("md", "csv", "json"), default="md",
                        help="format of the results on stdout (default: md)")
    parser.add_argument("--tf32", action="store_true",
                        help="allow TF32 in matmuls and cuDNN (default: off, full FP32)")
    parser.add_argument("--seed", type=int, default=1, help="seed of weights and inputs (default: 1)")
    parser.add_argument("--compile", action="store_true",
                        help="also measure with torch.compile (CUDA graphs on cuda where that "
                             "works): records with impl 'pytorch-compile'")
    parser.add_argument("--compile-only", action="store_true",
                        help="with --compile: no eager records, only the compiled ones")
    parser.add_argument("--standard", type=load_standard, metavar="FILE",
                        help="run the standard configurations from FILE instead of the model flags")
    parser.add_argument("--suite", choices=("cpu", "gpu"),
                        help="suite of --standard (default: gpu on cuda, cpu on cpu)")
    args = parser.parse_args(argv)
    if "cuda" in args.device and not torch.cuda.is_available():
        parser.error("--device cuda: torch.cuda.is_available() is False here")
    if args.compile_only and not args.compile:
        parser.error("--compile-only needs --compile")
    if args.suite and not args.standard:
        parser.error("--suite needs --standard FILE")
    for device in args.device if args.standard else ():
        if suite_name(args, device) not in args.standard.get("suites", {}):
            parser.error(f"--standard: no suite {suite_name(args, device)!r} in the file")
    return args


# --- what to measure --------------------------------------------------------------------------

def case(test, model=None, batch=None, seq_len=None, n_decode=None, vocab=None, config=None):
    """One measurement to make: the test, the model's fields (None for sample) and the shape."""
    fields = dict(model) if model else dict.fromkeys(MODEL_FIELDS)
    if vocab is not None:
        fields["vocab"] = vocab
    fields.update(test=test, batch=batch, seq_len=seq_len, n_decode=n_decode, config=config)
    return fields


def flag_cases(args):
    """Every combination of the model flags, for each test (each test only over its own flags)."""
    cases = []
    for test in args.test:
        if test == "sample":
            cases += [case(test, vocab=v, batch=b) for v, b in product(args.vocab, args.batch)]
            continue
        for cell, layers, hidden, embed, vocab, batch in product(
                args.cell, args.layers, args.hidden, args.embed, args.vocab, args.batch):
            model = {"cell": cell, "layers": layers, "hidden": hidden, "embed": embed, "vocab": vocab}
            if test == "decode":
                cases += [case(test, model, batch, n_decode=n) for n in args.n_decode]
            else:
                cases += [case(test, model, batch, seq_len=t) for t in args.seq_len]
    return cases


def standard_cases(standard, name):
    """The standard suite `name`, expanded exactly as `gen_cuda bench --standard` expands it."""
    suite = standard["suites"][name]
    cases = []
    for model_name in suite["models"]:
        spec = standard["models"][model_name]
        model = {k: spec[k] for k in MODEL_FIELDS}
        for test in ("train", "prefill"):
            cases.append(case(test, model, spec["batch"], seq_len=spec["seq_len"], config=model_name))
        cases += [case("decode", model, b, n_decode=suite["decode"]["n_decode"], config=model_name)
                  for b in suite["decode"]["batch"]]
    cases += [case("sample", vocab=v, batch=b)
              for v, b in product(suite["sample"]["vocab"], suite["sample"]["batch"])]
    return cases


def n_tokens(c):
    """Tokens per timed repetition."""
    per_stream = {"train": c["seq_len"], "prefill": c["seq_len"], "decode": c["n_decode"], "sample": 1}
    return c["batch"] * per_stream[c["test"]]


# --- the workloads ----------------------------------------------------------------------------

def synchronize(device):
    """Wait for the device's queued work (nothing to wait for on the CPU)."""
    if device == "cuda":
        torch.cuda.synchronize()


def timed(device, fn, *args):
    """Seconds that fn(*args) takes, the device work it queues included."""
    synchronize(device)
    start = time.perf_counter()
    fn(*args)
    synchronize(device)
    return time.perf_counter() - start


def new_model(c, device):
    """genrnn's PyTorch module with random weights, for case c."""
    return GenRNN(c["cell"], c["vocab"], c["hidden"], c["layers"], c["embed"]).to(device)


def random_ids(c, device, length):
    """Random token ids [batch, length]."""
    return torch.randint(c["vocab"], (c["batch"], length), device=device)


def detach_state(state):
    """The recurrent state cut from the autograd graph: h, or (h, c) for LSTM and LN-LSTM."""
    return tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()


def sample_next(logits):
    """The lesson's sampler: one id per row from softmax(logits / T)."""
    return torch.multinomial(F.softmax(logits / TEMPERATURE, dim=-1), 1)


def train_workload(c, device, wrap, token_seconds):
    """One repetition = one training step with the state carried across steps."""
    model = new_model(c, device).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    ids, targets = random_ids(c, device, c["seq_len"]), random_ids(c, device, c["seq_len"])

    def loss_and_state(ids, targets, state):
        logits, state = model(ids, state)
        return F.cross_entropy(logits.reshape(-1, c["vocab"]), targets.reshape(-1)), state

    loss_fn, carried = wrap(loss_and_state), [None]

    def step():
        loss, state = loss_fn(ids, targets, carried[0])
        carried[0] = detach_state(state)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), CLIP_NORM)
        optimizer.step()

    return lambda: timed(device, step)


def prefill_workload(c, device, wrap, token_seconds):
    """One repetition = the prompt through the model from a zero state; last position's logits."""
    forward = wrap(new_model(c, device).eval())
    prompt = random_ids(c, device, c["seq_len"])

    @torch.no_grad()
    def prefill():
        logits, _ = forward(prompt)
        return logits[:, -1]

    return lambda: timed(device, prefill)


def decode_workload(c, device, wrap, token_seconds):
    """One repetition = the lesson's generation loop; the 1-token prompt's prefill is untimed.

    Each generated position's seconds go to token_seconds (the read-back waits for the device).
    """
    # Only the model is compiled: multinomial would keep the whole step out of a CUDA graph.
    forward = wrap(new_model(c, device).eval())
    prompt = random_ids(c, device, 1)
    read_back = (lambda ids: ids.item()) if c["batch"] == 1 else (lambda ids: ids.tolist())

    def generate(logits, state):
        generated = []
        last = time.perf_counter()
        for _ in range(c["n_decode"]):
            next_ids = sample_next(logits[:, -1])
            generated.append(read_back(next_ids))
            now = time.perf_counter()
            token_seconds.append(now - last)
            last = now
            logits, state = forward(next_ids, state)
        return generated

    @torch.no_grad()
    def once():
        logits, state = forward(prompt)
        return timed(device, generate, logits, state)

    return once


def sample_workload(c, device, wrap, token_seconds):
    """One repetition = one draw for each of the batch rows of random [batch, vocab] logits."""
    logits = torch.randn(c["batch"], c["vocab"], device=device)
    draw = wrap(sample_next)
    return lambda: timed(device, draw, logits)


WORKLOADS = {"train": train_workload, "prefill": prefill_workload,
             "decode": decode_workload, "sample": sample_workload}


# --- measuring --------------------------------------------------------------------------------

def quantile_us(seconds, q):
    """The q-quantile (nearest rank) of seconds, in microseconds; None when there are none."""
    if not seconds:
        return None
    ordered = sorted(seconds)
    return 1e6 * ordered[max(math.ceil(q * len(ordered)), 1) - 1]


def measure(c, device, wrap, warmup, repetitions):
    """The measured fields of case c's record: tokens/s (mean, sample standard deviation) over
    the timed repetitions and, for decode, the per-token latency over their positions."""
    token_seconds = []
    once = WORKLOADS[c["test"]](c, device, wrap, token_seconds)
    for _ in range(warmup):
        once()
    token_seconds.clear()
    rates = [n_tokens(c) / once() for _ in range(repetitions)]
    return {"avg_tokens_per_s": statistics.mean(rates),
            "stddev_tokens_per_s": statistics.stdev(rates) if len(rates) > 1 else 0.0,
            "token_latency_us_p50": quantile_us(token_seconds, 0.5),
            "token_latency_us_p99": quantile_us(token_seconds, 0.99)}


def compile_modes(device):
    """torch.compile modes to try in order: CUDA graphs first on cuda."""
    return ("reduce-overhead", "default") if device == "cuda" else ("default",)


def measure_compiled(c, device, args):
    """measure() with torch.compile; (measured fields, mode), or None after one warning line."""
    error = None
    for mode in compile_modes(device):
        torch._dynamo.reset()  # a fresh model per case: keep dynamo's recompile limit out of it
        torch.manual_seed(args.seed)
        try:
            wrap = partial(torch.compile, mode=mode)
            return measure(c, device, wrap, args.warmup + COMPILE_EXTRA_WARMUP, args.repetitions), mode
        except Exception as e:  # torch.compile fails in many ways (backend, C++ compiler, graphs)
            error = e
    message = str(error).strip().splitlines()[0] if str(error).strip() else ""
    print(f"warning: torch.compile failed on {case_label(as_record(c, device))} "
          f"({type(error).__name__}: {message[:200]}); no pytorch-compile record", file=sys.stderr)
    return None


# --- records and output -----------------------------------------------------------------------

def git_commit():
    """`git rev-parse --short HEAD` of the repository this script lives in, or None."""
    try:
        done = subprocess.run(["git", "-C", str(Path(__file__).resolve().parent), "rev-parse",
                               "--short", "HEAD"], capture_output=True, text=True, check=True)
        return done.stdout.strip() or None
    except (OSError, subprocess.CalledProcessError):
        return None


def engine_name(device):
    """What runs the recurrence: cuDNN on cuda (PyTorch's native kernels without it), or cpu."""
    if device == "cpu":
        return "cpu"
    return "cudnn" if torch.backends.cudnn.is_available() else "cuda"


def as_record(c, device, impl="pytorch", measured=None, commit=None, tf32=False):
    """The JSON record of case c measured on device (RECORD_FIELDS, in that order); measured
    holds what measure() found."""
    values = {"impl": impl, "device": device,
              "gpu": torch.cuda.get_device_name() if device == "cuda" else None,
              "engine": engine_name(device), "decoder": "loop" if c["test"] == "decode" else None,
              "threads": torch.get_num_threads() if device == "cpu" else None,
              "blas_threads": os.environ.get("OPENBLAS_NUM_THREADS") if device == "cpu" else None,
              "decoder_note": None, "n_tokens": n_tokens(c), "commit": commit,
              "torch": torch.__version__, "tf32": tf32}
    values.update(measured or {})
    return {field: values.get(field, c.get(field)) for field in RECORD_FIELDS}


def write_json(records, out):
    """The records as a JSON array."""
    json.dump(records, out, indent=1)
    out.write("\n")


def write_csv(records, out):
    """The records as CSV, one column per field; null is empty."""
    writer = csv.DictWriter(out, fieldnames=RECORD_FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: "" if v is None else v for k, v in r.items()} for r in records)


def write_md(records, out):
    """The records as a markdown table."""
    headers = ["impl", "test", "device", "config", "shape", "batch", "seq_len/n", "tokens/s"]
    rows = [[r["impl"], r["test"], r["device"], r["config"] or "", shape_label(r), r["batch"],
             length_label(r), rate_label(r)] for r in records]
    out.write(markdown_table(headers, rows, right_aligned=("batch", "seq_len/n", "tokens/s")))


WRITERS = {"json": write_json, "csv": write_csv, "md": write_md}


def set_tf32(allowed):
    """Allow or forbid TF32 in CUDA matmuls and cuDNN (cuDNN allows it by default)."""
    torch.backends.cuda.matmul.allow_tf32 = allowed
    torch.backends.cudnn.allow_tf32 = allowed


def cases_for(args, device):
    """The cases to measure on device: the standard suite or the flags' combinations."""
    if args.standard:
        return standard_cases(args.standard, suite_name(args, device))
    return flag_cases(args)


def eager(fn):
    """The wrap of plain PyTorch: fn itself."""
    return fn


def run_case(c, device, args, commit, compile_ok):
    """The records of case c on device: pytorch (unless --compile-only), then pytorch-compile
    when asked and it works."""
    label = f"[{device}] {case_label(as_record(c, device))}"
    records = []
    if not args.compile_only:
        torch.manual_seed(args.seed)
        records.append(as_record(c, device, "pytorch",
                                 measure(c, device, eager, args.warmup, args.repetitions), commit, args.tf32))
        print(f"{label}: {rate_label(records[-1])} tokens/s", file=sys.stderr)
    compiled = measure_compiled(c, device, args) if compile_ok else None
    if compiled:
        measured, mode = compiled
        records.append(as_record(c, device, "pytorch-compile", measured, commit, args.tf32))
        print(f"{label}: {rate_label(records[-1])} tokens/s with torch.compile ({mode})",
              file=sys.stderr)
    return records


def main(argv=None):
    args = parse_args(argv)
    set_tf32(args.tf32)
    compile_ok = args.compile and hasattr(torch, "compile")
    if args.compile and not compile_ok:
        print(f"warning: torch {torch.__version__} has no torch.compile; "
              "no pytorch-compile records", file=sys.stderr)
    commit = git_commit()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads, commit {commit}",
          file=sys.stderr)
    records = [record for device in args.device for c in cases_for(args, device)
               for record in run_case(c, device, args, commit, compile_ok)]
    WRITERS[args.output](records, sys.stdout)


if __name__ == "__main__":
    main()
