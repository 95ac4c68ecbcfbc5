#!/usr/bin/env python3
"""gen_cuda serve against the batched decoder it is built on, side by side in one run.

For each client count N: a server with --parallel N on a free loopback port, driven for --seconds
by N streaming clients (tools/serve_load.py: aggregate tokens/s, time to first token, time between
tokens), then `gen_cuda bench --test decode` on the same model shape at batch N. The ratio of the
two is the server's overhead. Server, clients and decoder share this machine's cores: say so
where the numbers go.

    bench_serve.py --gen-cuda build/gen_cuda --model m.safetensors --clients 1,16,64,256 [--threads 1]
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))


def start_server(args, clients):
    server = subprocess.Popen([args.gen_cuda, "serve", "-m", args.model, "--port", "0", "--device", "cpu",
                               "--threads", str(args.threads), "--parallel", str(clients), "--max-connections",
                               str(clients + 16), "--max-tokens", str(args.max_tokens)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    line = server.stderr.readline()
    match = re.search(r"127\.0\.0\.1:(\d+)", line)
    if not match:
        server.kill()
        sys.exit("bench_serve: the server did not start: " + line)
    if "ready" not in server.stderr.readline():
        server.kill()
        sys.exit("bench_serve: the server did not load the model")
    return server, int(match.group(1))


def serve(args, clients):
    server, port = start_server(args, clients)
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/v1/models" % port, timeout=10) as response:
            meta = json.load(response)["data"][0]["meta"]
        run = subprocess.run([sys.executable, os.path.join(HERE, "serve_load.py"), "--url",
                              "http://127.0.0.1:%d" % port, "--clients", str(clients), "--seconds",
                              str(args.seconds), "--max-tokens", str(args.max_tokens), "--prompt", args.prompt],
                             capture_output=True, text=True, timeout=args.seconds + 120)
        if run.returncode != 0:
            sys.exit("bench_serve: the load had errors: " + run.stderr[-2000:])
        return meta, json.loads(run.stdout)
    finally:
        server.terminate()
        server.wait(30)
        server.stderr.close()


def decode(args, meta, clients):
    run = subprocess.run([args.gen_cuda, "bench", "--device", "cpu", "--test", "decode", "--threads",
                          str(args.threads), "--cell", meta["cell"], "--layers", str(meta["layers"]), "--hidden",
                          str(meta["hidden"]), "--embed", str(meta["embed"]), "--vocab", str(meta["vocab"]), "--batch",
                          str(clients), "-n", str(args.max_tokens), "-r", "3", "-o", "json"],
                         capture_output=True, text=True, timeout=600, check=True)
    return json.loads(run.stdout)[0]["avg_tokens_per_s"]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gen-cuda", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--clients", default="1,16,64,256")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--threads", type=int, default=1, help="the CPU engine's threads, server and decoder alike")
    parser.add_argument("--prompt", default="The ")
    args = parser.parse_args()
    print("| clients | server tokens/s | decoder tokens/s | ratio | TTFT p50 / p99 ms | between tokens p50 / p99 ms |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    for clients in [int(n) for n in args.clients.split(",")]:
        meta, load = serve(args, clients)
        time.sleep(1)
        decoder = decode(args, meta, clients)
        print("| %d | %s | %s | %.2f | %.1f / %.1f | %.2f / %.2f |" % (
            clients, format(round(load["tokens_per_s"]), ","), format(round(decoder), ","),
            load["tokens_per_s"] / decoder, load["ttft_ms"]["p50"], load["ttft_ms"]["p99"], load["itl_ms"]["p50"],
            load["itl_ms"]["p99"]), flush=True)


if __name__ == "__main__":
    main()
