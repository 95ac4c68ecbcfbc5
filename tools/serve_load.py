#!/usr/bin/python3
"""Load generator and latency benchmark for `gen_cuda serve` (OpenAI-compatible completions).

Each of --clients clients holds one keep-alive HTTP/1.1 connection and loops: POST
/v1/completions with {"prompt", "max_tokens", "temperature", "stream": true, "seed"} (seed =
client index * 1000 + request number), read the server-sent events up to `data: [DONE]`, send the
next request at once; until --seconds have passed (a request in flight then finishes), or with
--requests-per-client until each client has sent that many. Python standard library only: one
asyncio event loop drives every client, so that a few hundred streams fit on a core or two.

What is measured (requests that start during the first --warmup seconds run but are not counted):
  completion tokens  the `usage.completion_tokens` of each request's final chunk (the one with a
                     finish_reason); tokens/s = those of the counted requests / the measured window,
                     which runs from the end of the warmup to the end of the last request
  TTFT               from sending a request to the first chunk with non-empty text
  ITL                inter-token latency, one sample per later chunk with text: the time since the
                     previous such chunk / the tokens it carries, which is the length of its
                     `logprobs.tokens` where present and else the length of its text in characters
                     (exact for the character-level models of our benchmarks, an estimate otherwise)
Percentiles are nearest-rank. An error is an HTTP status other than 200, a malformed event or
response, a connection error, a stream without `data: [DONE]`, or no final chunk with usage; a
client closes its connection after an error, pauses briefly, and goes on with a new one. Errors
are counted over the whole run, warmup included. The whole run is bounded by --seconds + 60 s;
clients still busy then are stopped and counted as an error.

The report goes to stderr in words and to stdout (and --json FILE) as JSON: clients, seconds,
requests, errors, error_examples, completion_tokens, tokens_per_s, ttft_ms {p50, p99} and
itl_ms {p50, p99}. The exit status is 1 if there was any error, else 0.

Examples:
  serve_load.py --url http://127.0.0.1:8080 --clients 64 --seconds 30 --json load64.json
  serve_load.py --url http://127.0.0.1:8080 --clients 8 --seconds 10 --requests-per-client 3 --warmup 0
"""
import argparse
import asyncio
import json
import math
import sys
import time
import urllib.parse
from array import array
from dataclasses import dataclass, field
from typing import List, Optional

HARD_TIMEOUT_GRACE_S = 60
ERROR_PAUSE_S = 0.1  # keeps a failing server from being hammered by a tight retry loop
MAX_ERROR_EXAMPLES = 5
ERROR_TEXT_CHARS = 200
READ_SIZE = 65536
BUSY_WARNING = 0.9  # share of one core: the event loop runs on one, so near 1 it is the bottleneck

now = time.perf_counter


class ProtocolError(Exception):
    """The server broke HTTP or the streaming format; the message says how."""


@dataclass
class Target:
    host: str
    port: int
    netloc: str  # the Host header
    path: str


@dataclass
class RequestRecord:
    """One streamed completion as the client saw it."""
    start: float
    ttft: Optional[float] = None
    itl: List[float] = field(default_factory=list)
    last_text_at: Optional[float] = None
    completion_tokens: Optional[int] = None
    done: bool = False  # `data: [DONE]` seen

    def add_chunk(self, arrived, chunk):
        """Time one parsed event; the final chunk also gives the completion token count."""
        try:
            choice = chunk["choices"][0]
            text = choice["text"]
            finish_reason = choice.get("finish_reason")
        except (KeyError, IndexError, TypeError, AttributeError):
            raise ProtocolError(f"malformed event: {shorten(json.dumps(chunk))}") from None
        if not isinstance(text, str):
            raise ProtocolError(f"malformed event, text is not a string: {shorten(json.dumps(chunk))}")
        if text:
            if self.last_text_at is None:
                self.ttft = arrived - self.start
            else:
                self.itl.append((arrived - self.last_text_at) / max(1, tokens_in_chunk(choice)))
            self.last_text_at = arrived
        if finish_reason is not None:
            self.completion_tokens = completion_tokens(chunk)


def tokens_in_chunk(choice):
    """The tokens one chunk carries: its logprobs' tokens where given, else one per character."""
    logprobs = choice.get("logprobs")
    if isinstance(logprobs, dict) and isinstance(logprobs.get("tokens"), list):
        return len(logprobs["tokens"])
    return len(choice["text"])


def completion_tokens(final_chunk):
    """usage.completion_tokens of the chunk that carries the finish_reason."""
    try:
        tokens = final_chunk["usage"]["completion_tokens"]
    except (KeyError, TypeError):
        raise ProtocolError("final chunk without usage.completion_tokens: "
                            f"{shorten(json.dumps(final_chunk))}") from None
    if not isinstance(tokens, int) or isinstance(tokens, bool) or tokens < 0:
        raise ProtocolError(f"usage.completion_tokens is not a count: {tokens!r}")
    return tokens


class Stats:
    """What the clients report, kept for the counted requests (those that start after warmup)."""

    def __init__(self, measure_from):
        self.measure_from = measure_from
        self.requests = 0
        self.completion_tokens = 0
        self.ttft = array("d")
        self.itl = array("d")  # compact: one sample per chunk adds up over a long run
        self.errors = 0
        self.error_examples = []

    def add(self, record):
        if record.start < self.measure_from:
            return
        self.requests += 1
        self.completion_tokens += record.completion_tokens
        if record.ttft is not None:
            self.ttft.append(record.ttft)
        self.itl.extend(record.itl)

    def add_error(self, message):
        self.errors += 1
        if len(self.error_examples) < MAX_ERROR_EXAMPLES:
            self.error_examples.append(message)


def shorten(text):
    return text if len(text) <= ERROR_TEXT_CHARS else text[:ERROR_TEXT_CHARS] + "..."


# --- HTTP/1.1 over asyncio streams --------------------------------------------------------------

def request_bytes(target, api_key, body):
    """A POST of a JSON body; keep-alive is HTTP/1.1's default, so no Connection header."""
    lines = [f"POST {target.path} HTTP/1.1", f"Host: {target.netloc}",
             "Content-Type: application/json", "Accept: text/event-stream",
             f"Content-Length: {len(body)}"]
    if api_key:
        lines.append(f"Authorization: Bearer {api_key}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def read_head(reader):
    """(status, {lower-case header name: value}) of a response; one read for the whole head."""
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *header_lines = head[:-4].decode("latin-1").split("\r\n")
    parts = status_line.split(None, 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise ProtocolError(f"bad status line: {shorten(status_line)!r}")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(parts[1]), headers


class ChunkedDecoder:
    """Undoes `Transfer-Encoding: chunked` on bytes as they arrive. Every chunk that one read
    brings is decoded in one go, which keeps the cost per event low when a client falls behind."""
    ends_at_eof = False

    def __init__(self):
        self._buffer = bytearray()
        self.done = False

    def feed(self, data):
        """The payload of the chunks that data completes."""
        buffer = self._buffer
        buffer += data
        payload = []
        pos = 0
        while not self.done:
            line_end = buffer.find(b"\r\n", pos)
            if line_end < 0:
                break
            size_line = bytes(buffer[pos:line_end])
            try:
                size = int(size_line.split(b";", 1)[0], 16)  # ';' starts a chunk extension
            except ValueError:
                raise ProtocolError(f"bad chunk size line: {shorten(repr(size_line))}") from None
            if size == 0:
                body_end = buffer.find(b"\r\n\r\n", line_end)  # after the trailers, if any
                if body_end < 0:
                    break
                pos, self.done = body_end + 4, True
                break
            chunk_end = line_end + 2 + size
            if len(buffer) < chunk_end + 2:
                break
            if buffer[chunk_end:chunk_end + 2] != b"\r\n":
                raise ProtocolError("chunk not followed by CRLF")
            payload.append(bytes(buffer[line_end + 2:chunk_end]))
            pos = chunk_end + 2
        del buffer[:pos]
        return b"".join(payload)


class LengthDecoder:
    """A body of `Content-Length` bytes."""
    ends_at_eof = False

    def __init__(self, length):
        self._left = length
        self.done = length == 0

    def feed(self, data):
        piece = data[:self._left]
        self._left -= len(piece)
        self.done = self._left == 0
        return piece


class EofDecoder:
    """A body that ends when the server closes the connection."""
    ends_at_eof = True
    done = False

    def feed(self, data):
        return data


def body_decoder(headers):
    """The decoder for the way the server frames this response's body."""
    if "chunked" in headers.get("transfer-encoding", "").lower():
        return ChunkedDecoder()
    if "content-length" in headers:
        try:
            return LengthDecoder(int(headers["content-length"]))
        except ValueError:
            raise ProtocolError(f"bad Content-Length: {headers['content-length']!r}") from None
    return EofDecoder()


def keeps_alive(headers, decoder):
    """Whether the connection can carry the next request."""
    return not decoder.ends_at_eof and "close" not in headers.get("connection", "").lower()


async def body_pieces(reader, decoder):
    """The decoded body, one piece per read from the socket."""
    while not decoder.done:
        data = await reader.read(READ_SIZE)
        if not data:
            if decoder.ends_at_eof:
                return
            raise ConnectionError("connection closed by the server mid-response")
        yield decoder.feed(data)


async def read_all(pieces):
    return b"".join([piece async for piece in pieces])


# --- server-sent events -------------------------------------------------------------------------

class EventSplitter:
    """Cuts a server-sent event stream into the data of its events, across piece boundaries."""

    def __init__(self):
        self._partial_line = b""
        self._data_lines = []

    def feed(self, piece):
        """The data (bytes) of each event that this piece completes."""
        *lines, self._partial_line = (self._partial_line + piece).split(b"\n")
        events = []
        for line in lines:
            line = line.rstrip(b"\r")
            if not line:
                if self._data_lines:
                    events.append(b"\n".join(self._data_lines))
                    self._data_lines = []
            elif line.startswith(b"data:"):
                value = line[5:]
                self._data_lines.append(value[1:] if value.startswith(b" ") else value)
            # Comments (":...") and the fields event, id and retry carry nothing we measure.
        return events


async def read_events(pieces, record):
    """Feed each event of a 200 response's body to the record, then check how the stream ended."""
    splitter = EventSplitter()
    async for piece in pieces:
        arrived = now()
        for data in splitter.feed(piece):
            if record.done:
                raise ProtocolError(f"event after [DONE]: {shorten(repr(data))}")
            if data == b"[DONE]":
                record.done = True
                continue
            try:
                chunk = json.loads(data.decode())  # from str: json.loads skips guessing the encoding
            except ValueError:
                raise ProtocolError(f"malformed event: {shorten(repr(data))}") from None
            record.add_chunk(arrived, chunk)
    if not record.done:
        raise ProtocolError("stream ended without data: [DONE]")
    if record.completion_tokens is None:
        raise ProtocolError("stream without a final chunk (finish_reason and usage)")


async def one_request(reader, writer, request):
    """Send one request and read its stream: (record, whether the connection stays open)."""
    record = RequestRecord(start=now())
    writer.write(request)
    await writer.drain()
    status, headers = await read_head(reader)
    decoder = body_decoder(headers)
    pieces = body_pieces(reader, decoder)
    if status != 200:
        body = (await read_all(pieces)).decode("utf-8", "replace")
        raise ProtocolError(f"HTTP {status}: {shorten(body)}")
    await read_events(pieces, record)
    return record, keeps_alive(headers, decoder)


# --- clients and the run ------------------------------------------------------------------------

def describe(error):
    if isinstance(error, asyncio.IncompleteReadError):
        return "connection closed by the server before the end of a response head"
    if isinstance(error, ProtocolError):
        return str(error)
    return f"{type(error).__name__}: {error}"


def request_body(args, seed):
    return json.dumps({"prompt": args.prompt, "max_tokens": args.max_tokens,
                       "temperature": args.temperature, "stream": True, "seed": seed}).encode()


def more_requests(args, number, deadline):
    """Whether a client sends its request number `number` (from 0)."""
    if args.requests_per_client:
        return number < args.requests_per_client
    return now() < deadline


async def run_client(index, args, target, stats, deadline):
    """One client: requests back to back on one connection, reopened when it ends or fails."""
    reader = writer = None
    number = 0
    try:
        while more_requests(args, number, deadline):
            seed = index * 1000 + number
            number += 1
            failed, keep_alive = False, False
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection(target.host, target.port)
                request = request_bytes(target, args.api_key, request_body(args, seed))
                record, keep_alive = await one_request(reader, writer, request)
                stats.add(record)
            except (OSError, EOFError, asyncio.LimitOverrunError, ProtocolError) as error:
                stats.add_error(f"client {index}, seed {seed}: {describe(error)}")
                failed = True
            if writer is not None and not keep_alive:  # after an error its state is unknown
                writer.close()
                reader = writer = None
            if failed:
                await asyncio.sleep(ERROR_PAUSE_S)
    finally:
        if writer is not None:
            writer.close()


async def run(args, target):
    """Run every client to the end or to the hard timeout: (stats, measured window in seconds)."""
    start = now()
    stats = Stats(measure_from=start + args.warmup)
    tasks = [asyncio.create_task(run_client(i, args, target, stats, start + args.seconds))
             for i in range(args.clients)]
    done, pending = await asyncio.wait(tasks, timeout=args.seconds + HARD_TIMEOUT_GRACE_S)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    if pending:
        stats.add_error(f"hard timeout: {len(pending)} clients still busy "
                        f"{args.seconds + HARD_TIMEOUT_GRACE_S} s after the start")
    for task in done:
        task.result()  # a bug in a client surfaces here rather than vanishing
    return stats, max(0.0, now() - stats.measure_from)


# --- report -------------------------------------------------------------------------------------

def percentile_ms(samples, q):
    """The nearest-rank q-th percentile of samples (seconds) in ms, None without samples."""
    if not samples:
        return None
    ordered = sorted(samples)
    return round(1000 * ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)], 3)


def report(args, stats, seconds):
    return {
        "clients": args.clients,
        "seconds": round(seconds, 3),
        "requests": stats.requests,
        "errors": stats.errors,
        "error_examples": stats.error_examples,
        "completion_tokens": stats.completion_tokens,
        "tokens_per_s": round(stats.completion_tokens / seconds, 1) if seconds > 0 else None,
        "ttft_ms": {"p50": percentile_ms(stats.ttft, 50), "p99": percentile_ms(stats.ttft, 99)},
        "itl_ms": {"p50": percentile_ms(stats.itl, 50), "p99": percentile_ms(stats.itl, 99)},
    }


def summary(result, args, cpu_seconds, wall_seconds):
    """The report in words, for stderr."""
    def ms(value):
        return "—" if value is None else f"{value:.2f} ms"
    busy = cpu_seconds / max(wall_seconds, 1e-9)
    rate = "—" if result["tokens_per_s"] is None else f"{result['tokens_per_s']:,.1f}"
    lines = [
        f"serve_load: {result['clients']} clients, {result['seconds']:.2f} s measured after "
        f"{args.warmup:g} s warmup: {result['requests']} requests, {result['errors']} errors",
        f"  completion tokens {result['completion_tokens']:,}, {rate} tokens/s",
        f"  time to first token  p50 {ms(result['ttft_ms']['p50'])}, p99 {ms(result['ttft_ms']['p99'])}",
        f"  inter-token latency  p50 {ms(result['itl_ms']['p50'])}, p99 {ms(result['itl_ms']['p99'])}",
        f"  load generator CPU {cpu_seconds:.1f} s in {wall_seconds:.1f} s ({busy:.0%} of a core)",
    ]
    if busy >= BUSY_WARNING:
        lines.append("  warning: the load generator was nearly always busy, so it may be what limits "
                     "these numbers (its own delays count as latency)")
    lines += [f"  error: {example}" for example in result["error_examples"]]
    return "\n".join(lines)


# --- command line -------------------------------------------------------------------------------

def parse_target(parser, url):
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        parser.error(f"--url must be http://HOST[:PORT], not {url!r}")
    return Target(host=parts.hostname, port=parts.port or 80, netloc=parts.netloc,
                  path=parts.path.rstrip("/") + "/v1/completions")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--url", required=True, help="the server, e.g. http://127.0.0.1:8080")
    parser.add_argument("--clients", type=int, required=True, metavar="N",
                        help="concurrent streaming clients")
    parser.add_argument("--seconds", type=float, required=True, metavar="S",
                        help="clients send requests until S seconds after the start (with "
                             "--requests-per-client it only sets the hard timeout, S + 60)")
    parser.add_argument("--max-tokens", type=int, default=64, metavar="M",
                        help="max_tokens of each request (default 64)")
    parser.add_argument("--prompt", default="The ", metavar="TEXT",
                        help="prompt of each request (default 'The ')")
    parser.add_argument("--temperature", type=float, default=0.8, metavar="T",
                        help="temperature of each request (default 0.8)")
    parser.add_argument("--api-key", metavar="KEY", help="sent as `Authorization: Bearer KEY`")
    parser.add_argument("--warmup", type=float, default=2.0, metavar="S",
                        help="requests that start in the first S seconds are not counted (default 2)")
    parser.add_argument("--json", metavar="FILE", help="write the JSON report here too")
    parser.add_argument("--requests-per-client", type=int, metavar="R",
                        help="each client stops after R requests instead of at --seconds")
    args = parser.parse_args(argv)
    if args.clients < 1 or args.max_tokens < 1 or args.seconds <= 0 or args.warmup < 0:
        parser.error("--clients, --max-tokens and --seconds must be positive, --warmup not negative")
    if args.requests_per_client is not None and args.requests_per_client < 1:
        parser.error("--requests-per-client must be positive")
    if args.requests_per_client is None and args.warmup >= args.seconds:
        parser.error("--warmup must be shorter than --seconds")
    return args, parse_target(parser, args.url)


def main(argv=None):
    args, target = parse_args(argv)
    cpu_start, wall_start = time.process_time(), now()
    stats, seconds = asyncio.run(run(args, target))
    result = report(args, stats, seconds)
    print(summary(result, args, time.process_time() - cpu_start, now() - wall_start), file=sys.stderr)
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        with open(args.json, "w") as out:
            out.write(text + "\n")
    return 1 if stats.errors else 0


if __name__ == "__main__":
    sys.exit(main())
