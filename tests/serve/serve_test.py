#!/usr/bin/env python3
"""gen_cuda serve end to end, on loopback: the routes, streaming, n, stop, logprobs, echo, seeds
equal to gen_cuda sample's, every bad input, the API key, limits, disconnects freeing slots,
the queue's bound and SIGTERM (/health while the model loads: completion_server_test.cpp). Each server listens on a free port (--port 0) and every wait is
bounded.

    serve_test.py GEN_CUDA FIXTURES_DIR [unittest arguments]
"""
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import unittest

GEN_CUDA = FIXTURES = None
PROMPT = "The "


class Server:
    """gen_cuda serve on a free loopback port, stopped (SIGKILL at worst) on exit."""

    def __init__(self, *flags, model=None, wait_ready=True):
        model = model or os.path.join(FIXTURES, "lesson.safetensors")
        self.process = subprocess.Popen([GEN_CUDA, "serve", "-m", model, "--port", "0", "--device", "cpu", *flags],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.lines = []
        line = self._line(10)
        match = re.search(r"listening on http://127\.0\.0\.1:(\d+)/", line)
        if not match:
            self.close()
            raise AssertionError("no 'listening on' line: " + line)
        self.port = int(match.group(1))
        if wait_ready:
            self.wait_for("ready", 20)

    def _line(self, seconds):
        """The next stderr line, read on a thread so that the wait is bounded."""
        box = []
        reader = threading.Thread(target=lambda: box.append(self.process.stderr.readline()), daemon=True)
        reader.start()
        reader.join(seconds)
        if not box:
            raise AssertionError("gen_cuda serve said nothing for %d s" % seconds)
        self.lines.append(box[0])
        return box[0]

    def wait_for(self, text, seconds):
        deadline = time.monotonic() + seconds
        while text not in self.lines[-1] if self.lines else True:
            line = self._line(max(0.1, deadline - time.monotonic()))
            if not line:
                raise AssertionError("gen_cuda serve ended before saying %r: %s" % (text, "".join(self.lines)))

    def connection(self, timeout=30):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def request(self, method, path, body=None, headers=None, timeout=30):
        """(status, headers, parsed JSON or text)."""
        connection = self.connection(timeout)
        try:
            data = body if isinstance(body, (bytes, str)) or body is None else json.dumps(body)
            connection.request(method, path, body=data, headers=headers or {})
            response = connection.getresponse()
            raw = response.read().decode()
            kind = response.getheader("Content-Type", "")
            return response.status, response, json.loads(raw) if kind.startswith("application/json") else raw
        finally:
            connection.close()

    def complete(self, body, **kwargs):
        return self.request("POST", "/v1/completions", body, **kwargs)

    def events(self, body, headers=None):
        """A streamed completion's events, parsed, up to [DONE] (which is not included)."""
        status, _, text = self.complete(dict(body, stream=True), headers=headers)
        assert status == 200, text
        assert text.endswith("data: [DONE]\n\n"), text[-200:]
        return [json.loads(block[len("data: "):]) for block in text.split("\n\n")[:-2]]

    def metrics(self):
        status, _, text = self.request("GET", "/metrics")
        assert status == 200
        values = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, value = line.rsplit(" ", 1)
                values[name] = float(value)
        return values

    def close(self):
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)
        self.process.stderr.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def sample(prompt, n, length, seed, *flags):
    """gen_cuda sample's --num-samples text (samples joined by blank lines, each after the prompt)."""
    return subprocess.run([GEN_CUDA, "sample", "-m", os.path.join(FIXTURES, "lesson.safetensors"), "-p", prompt,
                           "-n", str(length), "-s", str(seed), "--num-samples", str(n), "--device", "cpu", *flags],
                          capture_output=True, text=True, timeout=60, check=True).stdout


def wait_until(condition, seconds, what):
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("not within %g s: %s" % (seconds, what))
        time.sleep(0.05)


class Routes(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server("--parallel", "4", "--queue", "64", "--max-body", "4096", "--timeout", "2")

    @classmethod
    def tearDownClass(cls):
        cls.server.close()

    def test_health_models_and_page(self):
        status, _, body = self.server.request("GET", "/health")
        self.assertEqual((status, body), (200, {"status": "ok"}))
        status, _, body = self.server.request("GET", "/v1/models")
        self.assertEqual(status, 200)
        self.assertEqual(body["data"][0]["id"], "lesson")
        self.assertEqual(body["data"][0]["meta"]["slots"], 4)
        status, response, page = self.server.request("GET", "/")
        self.assertEqual(status, 200)
        self.assertIn("text/html", response.getheader("Content-Type"))
        self.assertIn("/v1/completions", page)

    def test_choices_are_gen_cuda_samples_for_the_same_seed(self):
        options = {"temperature": 1.3, "top_k": 20, "top_p": 0.9}
        # Beside a stream that runs all along, so the batch changes size around the request.
        beside = threading.Thread(target=self.server.complete, args=({"prompt": "A", "max_tokens": 600},))
        beside.start()
        status, response, body = self.server.complete(dict(prompt=PROMPT, max_tokens=40, seed=77, n=3, **options))
        beside.join(60)
        self.assertEqual(status, 200, body)
        texts = [choice["text"] for choice in body["choices"]]
        self.assertEqual([choice["index"] for choice in body["choices"]], [0, 1, 2])
        self.assertEqual(sample(PROMPT, 3, 40, 77, "--temperature", "1.3", "--top-k", "20", "--top-p", "0.9"),
                         "\n\n".join(PROMPT + text for text in texts))
        self.assertEqual(body["usage"], {"prompt_tokens": 4, "completion_tokens": 120, "total_tokens": 124})
        self.assertEqual(response.getheader("X-Genrnn-Seed"), "77")
        self.assertEqual(body["seed"], 77)
        self.assertEqual({choice["finish_reason"] for choice in body["choices"]}, {"length"})

    def test_a_request_without_a_seed_gets_one_that_repeats_it(self):
        status, response, first = self.server.complete({"prompt": PROMPT, "max_tokens": 30})
        self.assertEqual(status, 200)
        seed = int(response.getheader("X-Genrnn-Seed"))
        self.assertEqual(first["seed"], seed)
        _, _, again = self.server.complete({"prompt": PROMPT, "max_tokens": 30, "seed": seed})
        self.assertEqual(again["choices"][0]["text"], first["choices"][0]["text"])

    def test_streaming_gives_the_same_text_in_events_ending_with_done(self):
        request = {"prompt": [PROMPT, "A"], "max_tokens": 50, "seed": 3, "n": 2}
        _, _, whole = self.server.complete(request)
        events = self.server.events(request)
        texts, finish = {}, {}
        for event in events:
            self.assertEqual(event["object"], "text_completion")
            (choice,) = event["choices"]
            texts[choice["index"]] = texts.get(choice["index"], "") + choice["text"]
            if choice["finish_reason"]:
                finish[choice["index"]] = choice["finish_reason"]
        self.assertEqual(texts, {c["index"]: c["text"] for c in whole["choices"]})
        self.assertEqual(finish, {k: "length" for k in range(4)})
        self.assertEqual(events[-1]["usage"], whole["usage"])
        self.assertEqual(whole["usage"]["prompt_tokens"], 5)

    def test_stop_strings_end_choices_and_are_left_out(self):
        _, _, free = self.server.complete({"prompt": PROMPT, "max_tokens": 200, "seed": 9, "n": 4})
        stops = ["a", "e"]
        _, _, stopped = self.server.complete({"prompt": PROMPT, "max_tokens": 200, "seed": 9, "n": 4, "stop": stops})
        events = self.server.events({"prompt": PROMPT, "max_tokens": 200, "seed": 9, "n": 4, "stop": stops})
        streamed = {}
        for event in events:
            choice = event["choices"][0]
            streamed[choice["index"]] = streamed.get(choice["index"], "") + choice["text"]
        for k in range(4):
            text = free["choices"][k]["text"]
            cut = min([text.find(s) for s in stops if s in text] or [len(text)])
            self.assertEqual(stopped["choices"][k]["text"], text[:cut])
            self.assertEqual(streamed[k], text[:cut])
            self.assertEqual(stopped["choices"][k]["finish_reason"], "stop" if cut < len(text) else "length")

    def test_logprobs_and_echo(self):
        _, _, body = self.server.complete({"prompt": PROMPT, "max_tokens": 12, "seed": 1, "logprobs": 3,
                                           "echo": True, "temperature": 1.0})
        choice = body["choices"][0]
        self.assertTrue(choice["text"].startswith(PROMPT))
        logprobs = choice["logprobs"]
        self.assertEqual(len(logprobs["tokens"]), 12)
        self.assertEqual("".join(logprobs["tokens"]), choice["text"][len(PROMPT):])
        self.assertEqual(logprobs["text_offset"][0], len(PROMPT))
        for token, logprob, top, model_top in zip(logprobs["tokens"], logprobs["token_logprobs"],
                                                  logprobs["top_logprobs"], logprobs["model_top_logprobs"]):
            self.assertLess(logprob, 0)
            self.assertIn(token, model_top)  # the drawn token is added where it is not among the likeliest
            ranked = sorted(model_top, key=lambda text: -model_top[text])  # JSON objects keep no order
            self.assertEqual(len(model_top), 3 if token in ranked[:3] else 4)
            for text, value in top.items():  # at T = 1, nothing excluded: the model's own
                self.assertAlmostEqual(value, model_top[text], places=9)
            if token in top:
                self.assertAlmostEqual(top[token], logprob, places=9)
            self.assertLessEqual(max(model_top.values()), 0)

    def test_bad_requests_get_openai_errors(self):
        cases = [
            ("{", 400, None, "not valid JSON"),
            ("[1]", 400, None, "JSON object"),
            ({"max_tokens": 5}, 400, "prompt", "prompt is required"),
            ({"prompt": 5}, 400, "prompt", "string"),
            ({"prompt": ""}, 400, "prompt", "empty"),
            ({"prompt": "The \u2603"}, 400, "prompt", "\u2603"),
            ({"prompt": PROMPT, "max_tokens": "8"}, 400, "max_tokens", "integer"),
            ({"prompt": PROMPT, "max_tokens": 5000}, 400, "max_tokens", "[1, 4096]"),
            ({"prompt": PROMPT, "n": 17}, 400, "n", "[1, 16]"),
            ({"prompt": PROMPT, "temperature": 2.5}, 400, "temperature", "[0, 2]"),
            ({"prompt": PROMPT, "top_p": 0}, 400, "top_p", "(0"),
            ({"prompt": PROMPT, "top_k": -1}, 400, "top_k", None),
            ({"prompt": PROMPT, "seed": -1}, 400, "seed", None),
            ({"prompt": PROMPT, "logprobs": 21}, 400, "logprobs", None),
            ({"prompt": PROMPT, "stop": ["a", "b", "c", "d", "e"]}, 400, "stop", "at most 4"),
            ({"prompt": PROMPT, "stop": ""}, 400, "stop", "1 to 256 bytes"),
            ({"prompt": PROMPT, "stop": "x" * 257}, 400, "stop", "1 to 256 bytes"),
            ({"prompt": [PROMPT] * 5, "n": 16, "max_tokens": 1}, 400, "n", "at most 68 streams"),
            ({"prompt": PROMPT, "stream": "yes"}, 400, "stream", "true or false"),
            ({"prompt": PROMPT, "best_of": 3}, 400, "best_of", "not supported"),
            ({"prompt": "x" * 5000}, 413, None, "too large"),
        ]
        for body, status, param, words in cases:
            with self.subTest(body=str(body)[:60]):
                got, _, error = self.server.complete(body)
                self.assertEqual(got, status, error)
                self.assertEqual(set(error), {"error"})
                self.assertEqual(error["error"]["param"], param)
                self.assertEqual(error["error"]["type"], "invalid_request_error")
                if words:
                    self.assertIn(words, error["error"]["message"])
        status, _, error = self.server.request("GET", "/v1/nothing")
        self.assertEqual((status, error["error"]["type"]), (404, "not_found_error"))

    def test_a_body_without_its_length_is_refused_and_the_connection_closed(self):
        for head in (b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n", b"\r\n{}"):
            with socket.create_connection(("127.0.0.1", self.server.port), timeout=10) as client:
                client.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\n" + head)
                answer = b""
                while True:
                    data = client.recv(4096)
                    if not data:
                        break
                    answer += data
                self.assertTrue(answer.startswith(b"HTTP/1.1 411"), answer)
                self.assertIn(b"Content-Length", answer)

    def test_streaming_with_logprobs_and_echo(self):
        request = {"prompt": PROMPT, "max_tokens": 30, "seed": 4, "logprobs": 2, "echo": True}
        _, _, whole = self.server.complete(request)
        events = self.server.events(request)
        self.assertEqual("".join(event["choices"][0]["text"] for event in events), whole["choices"][0]["text"])
        tokens = [token for event in events for token in event["choices"][0]["logprobs"]["tokens"]]
        offsets = [offset for event in events for offset in event["choices"][0]["logprobs"]["text_offset"]]
        self.assertEqual(tokens, whole["choices"][0]["logprobs"]["tokens"])
        self.assertEqual(offsets, whole["choices"][0]["logprobs"]["text_offset"])

    def test_bad_requests_do_not_disturb_a_stream(self):
        request = {"prompt": PROMPT, "max_tokens": 300, "seed": 21}
        _, _, expected = self.server.complete(request)
        result = {}
        streamer = threading.Thread(target=lambda: result.update(events=self.server.events(request)))
        streamer.start()
        for _ in range(20):
            self.server.complete({"prompt": "\u2603"})
            self.server.complete("{")
            # A client that leaves as soon as it has asked: its streams are cancelled as they join.
            with socket.create_connection(("127.0.0.1", self.server.port), timeout=10) as client:
                body = json.dumps({"prompt": PROMPT, "max_tokens": 50, "stream": True, "n": 2}).encode()
                client.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s"
                               % (len(body), body))
        streamer.join(60)
        text = "".join(event["choices"][0]["text"] for event in result["events"])
        self.assertEqual(text, expected["choices"][0]["text"])
        # The clients that left have freed their slots (the other tests need them).
        wait_until(lambda: self.server.metrics()["genrnn_streams_active"] == 0, 30, "the slots are free")

    def test_metrics_are_prometheus_text(self):
        self.server.complete({"prompt": PROMPT, "max_tokens": 10})
        status, response, text = self.server.request("GET", "/metrics")
        self.assertEqual(status, 200)
        self.assertTrue(response.getheader("Content-Type").startswith("text/plain; version=0.0.4"))
        metrics = self.server.metrics()
        self.assertGreaterEqual(metrics['genrnn_requests_total{route="/v1/completions",status="200"}'], 1)
        self.assertGreaterEqual(metrics["genrnn_tokens_generated_total"], 10)
        self.assertEqual(metrics["genrnn_slots"], 4)
        for histogram in ("genrnn_time_to_first_token_seconds", "genrnn_time_between_tokens_seconds"):
            buckets = [(name, value) for name, value in metrics.items() if name.startswith(histogram + "_bucket")]
            counts = [value for _, value in buckets]
            self.assertEqual(counts, sorted(counts), "cumulative")
            self.assertEqual(buckets[-1][0], histogram + '_bucket{le="+Inf"}')
            self.assertEqual(counts[-1], metrics[histogram + "_count"])
            self.assertGreater(metrics[histogram + "_count"], 0)
        self.assertIn("# TYPE genrnn_requests_total counter", text)

    def test_a_slow_client_is_cut_off(self):
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=10) as client:
            client.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\n")  # and then nothing
            started = time.monotonic()
            answer = b""
            while True:  # cpp-httplib answers 400 when the headers time out, then closes
                data = client.recv(4096)
                if not data:
                    break
                answer += data
            self.assertLess(time.monotonic() - started, 8)
            self.assertTrue(answer == b"" or answer.startswith(b"HTTP/1.1 400"), answer)


class ApiKey(unittest.TestCase):
    def test_every_route_but_the_page_and_health_needs_the_key(self):
        with Server("--api-key", "s3cret") as server:
            self.assertEqual(server.request("GET", "/health")[0], 200)
            self.assertEqual(server.request("GET", "/")[0], 200)
            for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Bearer s3cret2"},
                            {"Authorization": "s3cret"}):
                for method, path, body in (("GET", "/v1/models", None), ("GET", "/metrics", None),
                                           ("POST", "/v1/completions", {"prompt": PROMPT})):
                    status, _, error = server.request(method, path, body, headers=headers)
                    self.assertEqual(status, 401, (path, headers))
                    self.assertEqual(error["error"]["type"], "authentication_error")
            good = {"Authorization": "Bearer s3cret"}
            # A refusal leaves a kept-alive connection ready for the next request.
            connection = server.connection()
            for headers, status in (({}, 401), (good, 200)):
                connection.request("POST", "/v1/completions", json.dumps({"prompt": PROMPT}), headers)
                response = connection.getresponse()
                response.read()
                self.assertEqual(response.status, status)
            connection.close()
            self.assertEqual(server.request("GET", "/v1/models", headers=good)[0], 200)
            self.assertEqual(server.complete({"prompt": PROMPT}, headers=good)[0], 200)

    def test_the_key_may_come_from_the_environment(self):
        os.environ["GENRNN_API_KEY"] = "from-env"
        try:
            with Server() as server:
                self.assertEqual(server.complete({"prompt": PROMPT})[0], 401)
                self.assertEqual(server.complete({"prompt": PROMPT}, headers={"Authorization": "Bearer from-env"})[0], 200)
        finally:
            del os.environ["GENRNN_API_KEY"]


class Slots(unittest.TestCase):
    def test_a_client_that_leaves_frees_its_slot(self):
        with Server("--parallel", "1", "--queue", "4", "--max-tokens", "1000000") as server:
            connection = server.connection()
            connection.request("POST", "/v1/completions",
                               json.dumps({"prompt": PROMPT, "max_tokens": 1000000, "stream": True}))
            response = connection.getresponse()
            self.assertEqual(response.status, 200)
            self.assertTrue(response.readline().startswith(b"data: "))  # it streams
            self.assertEqual(server.metrics()["genrnn_streams_active"], 1)
            connection.sock.shutdown(socket.SHUT_RDWR)
            connection.close()
            wait_until(lambda: server.metrics()["genrnn_streams_active"] == 0, 10, "the slot is freed")
            status, _, body = server.complete({"prompt": PROMPT, "max_tokens": 5}, timeout=10)
            self.assertEqual(status, 200, body)

    def test_past_the_queue_requests_get_429(self):
        with Server("--parallel", "1", "--queue", "1", "--max-tokens", "1000000") as server:
            def long_stream():
                connection = server.connection()
                connection.request("POST", "/v1/completions",
                                   json.dumps({"prompt": PROMPT, "max_tokens": 1000000, "stream": True}))
                return connection, connection.getresponse()
            first = long_stream()
            second = long_stream()  # queued: its response comes once it has a slot
            wait_until(lambda: server.metrics()["genrnn_streams_queued"] == 1, 10, "one stream waits")
            status, _, error = server.complete({"prompt": PROMPT, "max_tokens": 5})
            self.assertEqual(status, 429)
            self.assertEqual(error["error"]["type"], "rate_limit_error")
            for connection, _ in (first, second):
                connection.close()

    def test_connections_past_the_limit_get_503(self):
        with Server("--max-connections", "2") as server:
            held = [server.connection() for _ in range(2)]
            for connection in held:  # keep-alive connections, each holding a thread
                connection.request("GET", "/health")
                connection.getresponse().read()
            status, _, error = server.request("GET", "/health")
            self.assertEqual(status, 503)
            self.assertIn("too many connections", error["error"]["message"])
            for connection in held:
                connection.close()
            wait_until(lambda: server.request("GET", "/health")[0] == 200, 10, "a connection is free again")


class Lifecycle(unittest.TestCase):
    def test_sigterm_ends_the_streams_and_exits_0(self):
        with Server("--grace", "1", "--max-tokens", "1000000") as server:
            connection = server.connection()
            connection.request("POST", "/v1/completions",
                               json.dumps({"prompt": PROMPT, "max_tokens": 1000000, "stream": True}))
            response = connection.getresponse()
            self.assertTrue(response.readline().startswith(b"data: "))
            started = time.monotonic()
            server.process.send_signal(signal.SIGTERM)
            rest = response.read().decode()  # the stream ends: an error event, then [DONE]
            self.assertIn('"unavailable_error"', rest)
            self.assertTrue(rest.endswith("data: [DONE]\n\n"), rest[-100:])
            connection.close()
            self.assertEqual(server.process.wait(20), 0)
            self.assertLess(time.monotonic() - started, 10)
            with self.assertRaises(OSError):
                socket.create_connection(("127.0.0.1", server.port), timeout=2).close()

    def test_sigint_stops_too_and_a_missing_model_is_one_clear_error(self):
        with Server() as server:
            server.process.send_signal(signal.SIGINT)
            self.assertEqual(server.process.wait(20), 0)
        run = subprocess.run([GEN_CUDA, "serve", "-m", "missing.safetensors", "--port", "0"], capture_output=True,
                             text=True, timeout=30)
        self.assertEqual(run.returncode, 1)
        self.assertIn("gen_cuda: error: ", run.stderr)
        self.assertIn("missing.safetensors", run.stderr.splitlines()[-1])

    def test_a_port_in_use_is_one_clear_error(self):
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            run = subprocess.run([GEN_CUDA, "serve", "-m", os.path.join(FIXTURES, "lesson.safetensors"),
                                  "--port", str(port)], capture_output=True, text=True, timeout=30)
            self.assertEqual(run.returncode, 1)
            self.assertRegex(run.stderr, r"gen_cuda: error: cannot listen on 127\.0\.0\.1:%d: " % port)


class Page(unittest.TestCase):
    def test_the_page_streams_text_and_bars_in_headless_chromium(self):
        with Server() as server:
            run = subprocess.run([sys.executable, os.path.join(os.path.dirname(__file__), "page_test.py"),
                                  "--url", "http://127.0.0.1:%d/" % server.port, "--bad-char", "\u2603"],
                                 capture_output=True, text=True, timeout=120)
            self.assertEqual(run.returncode, 0, run.stdout + run.stderr)


class Load(unittest.TestCase):
    """128 streaming clients for 20 s on loopback (tools/serve_load.py): not one error."""

    def test_128_streaming_clients_get_no_error(self):
        with Server("--parallel", "128", "--max-connections", "160") as server:
            run = subprocess.run([sys.executable, os.path.join(os.path.dirname(__file__), "..", "..", "tools",
                                                               "serve_load.py"),
                                  "--url", "http://127.0.0.1:%d" % server.port, "--clients", "128", "--seconds", "20",
                                  "--max-tokens", "64"], capture_output=True, text=True, timeout=120)
            report = json.loads(run.stdout)
            self.assertEqual((run.returncode, report["errors"]), (0, 0), run.stderr)
            self.assertGreater(report["requests"], 128)
            self.assertEqual(server.metrics()["genrnn_streams_active"], 0)


if __name__ == "__main__":
    GEN_CUDA, FIXTURES = sys.argv[1], sys.argv[2]
    unittest.main(argv=[sys.argv[0]] + sys.argv[3:], verbosity=2)
