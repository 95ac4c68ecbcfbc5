"""What tools/bench_pytorch.py and tools/bench_report.py share: the benchmark record and its labels.

A record is one measurement, as `gen_cuda bench -o json` and bench_pytorch.py write it; the
fields are RECORD_FIELDS, and two records measure the same thing when their JOIN_KEYS agree.
"""

RECORD_FIELDS = ("impl", "test", "device", "gpu", "engine", "threads", "processes", "one_process_tokens_per_s",
                 "scaling", "blas_threads", "decoder", "decoder_note", "cell", "layers", "hidden", "embed", "vocab", "batch", "seq_len", "n_tokens",
                 "avg_tokens_per_s", "stddev_tokens_per_s", "token_latency_us_p50",
                 "token_latency_us_p99", "commit", "torch", "tf32", "config")
JOIN_KEYS = ("test", "device", "cell", "layers", "hidden", "embed", "vocab", "batch", "seq_len",
             "n_tokens")
MISSING = "—"


def join_key(record):
    """The tuple that identifies what a record measured, whichever tool measured it."""
    return tuple(record.get(k) for k in JOIN_KEYS)


def shape_label(record):
    """The model's shape in short, e.g. 'lstm 2x512 E64 V96' ('V96' alone for `sample`)."""
    vocab = f"V{record['vocab']}"
    if record.get("cell") is None:
        return vocab
    embed = f"E{record['embed']}" if record.get("embed") else "one-hot"
    return f"{record['cell']} {record['layers']}x{record['hidden']} {embed} {vocab}"


def length_label(record):
    """'T100' (seq_len) for train/prefill, 'n256' (tokens per stream) for decode, MISSING for sample."""
    if record.get("seq_len") is not None:
        return f"T{record['seq_len']}"
    if record["test"] == "decode":
        return f"n{record['n_tokens'] // record['batch']}"
    return MISSING


def rate_label(record):
    """'12,345 ± 67' tokens/s, or MISSING when there is no record."""
    if record is None:
        return MISSING
    return f"{record['avg_tokens_per_s']:,.0f} ± {record['stddev_tokens_per_s']:,.0f}"


def latency_label(record):
    """'4.2 / 6.1' microseconds per token (median / 99th percentile), MISSING where not measured."""
    if record is None or record.get("token_latency_us_p50") is None:
        return MISSING
    return f"{record['token_latency_us_p50']:,.1f} / {record['token_latency_us_p99']:,.1f}"


def engine_label(record):
    """The engine, with the decoder that ran for decode where it has more than one, and the CPU's
    threads: 'cpu, 2 threads', 'fused persistent'."""
    if record is None:
        return MISSING
    decoder = record.get("decoder")
    label = record["engine"] if decoder in (None, record["engine"]) else f"{record['engine']} {decoder}"
    threads = record.get("threads")
    return label if threads is None else f"{label}, {threads} thread{'s' if threads != 1 else ''}"


def case_label(record):
    """One line naming a measurement, for progress and for the report's unpaired list."""
    parts = [record["test"], record["device"], record.get("config"), shape_label(record),
             f"b{record['batch']}", length_label(record)]
    return " ".join(str(p) for p in parts if p not in (None, MISSING))


def markdown_table(headers, rows, right_aligned=()):
    """A GitHub markdown table; the columns named in right_aligned are aligned right."""
    rule = ["---:" if h in right_aligned else "---" for h in headers]
    lines = [headers, rule] + [[str(cell) for cell in row] for row in rows]
    return "\n".join("| " + " | ".join(line) + " |" for line in lines) + "\n"
