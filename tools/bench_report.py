#!/usr/bin/python3
"""Put `gen_cuda bench` and tools/bench_pytorch.py results side by side in one markdown table.

Records of impl "genrnn" are joined with those of impl "pytorch" (and "pytorch-compile" when
present) on what they measured (bench_common.JOIN_KEYS); the ratio is genrnn's tokens/s over
PyTorch's. Decode rows also give each side's per-token latency (median / 99th percentile, us). A record without a partner keeps its row, with "—" on the missing side, and is named
in a line under the table.

Example:
  bench_report.py genrnn.json pytorch.json [pytorch_graphs.json ...] --title "H100, 2026-11-27" -o report.md
"""
import argparse
import json
import sys
from pathlib import Path

from bench_common import (MISSING, case_label, engine_label, join_key, latency_label, length_label,
                          markdown_table, rate_label, shape_label)

GENRNN, PYTORCH, COMPILED = "genrnn", "pytorch", "pytorch-compile"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("genrnn", type=Path, help="JSON records of `gen_cuda bench -o json`")
    parser.add_argument("pytorch", type=Path, nargs="+",
                        help="JSON records of `bench_pytorch.py -o json` (one file or more)")
    parser.add_argument("--title", default="genrnn vs PyTorch", help="heading of the report")
    parser.add_argument("--fastest-pytorch", action="store_true",
                        help="where several PyTorch files measure the same case (one per thread "
                             "setting), compare with the fastest of them")
    parser.add_argument("-o", "--output", type=Path, metavar="FILE",
                        help="write the report here (default: stdout)")
    return parser.parse_args(argv)


def load_records(*paths):
    """All records of the JSON arrays in paths, in file order."""
    return [record for path in paths for record in json.loads(path.read_text())]


def by_key(records, impl, fastest=False):
    """{join key: record} for the records of impl; a repeated key keeps its first record, or
    with `fastest` its fastest (one tool run per thread setting: each row then gets the best)."""
    found = {}
    for record in (r for r in records if r["impl"] == impl):
        key = join_key(record)
        if key in found and fastest:
            if record["avg_tokens_per_s"] > found[key]["avg_tokens_per_s"]:
                found[key] = record
            continue
        if key in found:
            print(f"warning: two {impl} records for {case_label(record)}; the first is used",
                  file=sys.stderr)
        found.setdefault(key, record)
    return found


def paired_rows(records, fastest=False):
    """(genrnn, pytorch, compiled) triples, None where a side is missing, in the records' order.

    One triple per genrnn record (several genrnn engines may share one PyTorch partner), then
    one per PyTorch measurement that no genrnn record matched.
    """
    pytorch, compiled = by_key(records, PYTORCH, fastest), by_key(records, COMPILED, fastest)
    genrnn = [r for r in records if r["impl"] == GENRNN]
    rows = [(g, pytorch.get(join_key(g)), compiled.get(join_key(g))) for g in genrnn]
    matched = {join_key(g) for g in genrnn}
    for key in dict.fromkeys(list(pytorch) + list(compiled)):
        if key not in matched:
            rows.append((None, pytorch.get(key), compiled.get(key)))
    return rows


def ratio(numerator, denominator):
    """numerator / denominator tokens/s to 2 decimals, MISSING without both."""
    if numerator is None or denominator is None:
        return MISSING
    return f"{numerator['avg_tokens_per_s'] / denominator['avg_tokens_per_s']:.2f}"


def table_row(g, p, c, with_compiled):
    """One table row of a (genrnn, pytorch, compiled) triple."""
    any_side = g or p or c
    config = next((r["config"] for r in (g, p, c) if r and r.get("config")), "")
    row = [any_side["test"], any_side["device"], engine_label(g), config,
           shape_label(any_side), any_side["batch"], length_label(any_side),
           rate_label(g), rate_label(p), ratio(g, p), latency_label(g), latency_label(p)]
    return row + [rate_label(c), ratio(g, c), latency_label(c)] if with_compiled else row


def report_table(rows):
    """The side-by-side markdown table."""
    with_compiled = any(c for _, _, c in rows)
    headers = ["test", "device", "engine", "config", "shape", "batch", "seq_len/n",
               "genrnn tokens/s", "PyTorch tokens/s", "genrnn / PyTorch", "genrnn us/token p50 / p99",
               "PyTorch us/token p50 / p99"]
    if with_compiled:
        headers += ["PyTorch compile tokens/s", "genrnn / compile", "compile us/token p50 / p99"]
    numeric = headers[headers.index("batch"):]
    return markdown_table(headers, [table_row(*row, with_compiled) for row in rows], numeric)


def unpaired_line(rows):
    """The line under the table that names the measurements one side lacks."""
    genrnn_only = [case_label(g) for g, p, c in rows if g and not (p or c)]
    pytorch_only = [case_label(p or c) for g, p, c in rows if not g]
    if not genrnn_only and not pytorch_only:
        return "Every measurement has both sides."
    parts = [f"{side} only ({len(labels)}): " + "; ".join(labels)
             for side, labels in (("genrnn", genrnn_only), ("PyTorch", pytorch_only)) if labels]
    return "No partner: " + ". ".join(parts) + "."


def context_line(records):
    """Who measured what, where: GPUs, commits, torch version, TF32."""
    def values(field, impls=(GENRNN, PYTORCH, COMPILED)):
        shown = {True: "on", False: "off"}
        return ", ".join(sorted({shown[r[field]] if isinstance(r[field], bool) else str(r[field])
                                 for r in records if r["impl"] in impls and r.get(field) is not None})) or MISSING
    return (f"GPU: {values('gpu')} · genrnn commit {values('commit', (GENRNN,))} · "
            f"PyTorch {values('torch', (PYTORCH, COMPILED))} (CPU: {values('threads', (PYTORCH, COMPILED))} torch "
            f"threads, OPENBLAS_NUM_THREADS {values('blas_threads', (PYTORCH, COMPILED))}) · TF32: {values('tf32')}")


def main(argv=None):
    args = parse_args(argv)
    records = load_records(args.genrnn, *args.pytorch)
    rows = paired_rows(records, args.fastest_pytorch)
    report = (f"## {args.title}\n\n{context_line(records)}\n\n{report_table(rows)}\n"
              f"{unpaired_line(rows)}\n")
    if args.output:
        args.output.write_text(report)
    else:
        sys.stdout.write(report)


if __name__ == "__main__":
    main()
