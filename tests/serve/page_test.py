#!/usr/bin/env python3
"""Drives the `gen_cuda serve` page in headless Chromium and checks that it generates and shows errors.

Usage: page_test.py --url http://127.0.0.1:PORT/ [--screenshot out.png] [--bad-char C]

Speaks the DevTools protocol over --remote-debugging-pipe (Chromium reads NUL-terminated JSON
commands on fd 3 and writes replies and events on fd 4), so it needs nothing beyond the standard
library and Chromium. Prints one line per failed check; exits 0 when all pass, 1 otherwise.
"""
import argparse
import base64
import fcntl
import json
import os
import re
import select
import shutil
import subprocess
import sys
import tempfile
import time

DEADLINE_S = 60
GENERATION_TIMEOUT_S = 30
WINDOW = (1200, 900)


class Fatal(Exception):
    """A failure after which the remaining checks cannot run."""


def high_fd(fd):
    """Moves fd to a number >= 10 (close-on-exec), away from the 3 and 4 the browser must get."""
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return moved


class Browser:
    """Headless Chromium with one page, driven through the DevTools pipe."""

    def __init__(self, chromium, deadline):
        self.deadline = deadline
        self.next_id = 0
        self.buffer = b''
        self.events = []       # events from the page's session, oldest first
        self.session = None
        self.tmp = tempfile.mkdtemp(prefix='page_test_')
        commands_read, commands_write = (high_fd(fd) for fd in os.pipe())
        replies_read, replies_write = (high_fd(fd) for fd in os.pipe())

        def give_pipe_fds():
            os.dup2(commands_read, 3)
            os.dup2(replies_write, 4)

        self.log = open(os.path.join(self.tmp, 'chromium.log'), 'wb')
        self.process = subprocess.Popen(
            [chromium, '--headless=new', '--no-sandbox', '--disable-gpu', '--no-first-run',
             '--no-default-browser-check', f'--user-data-dir={os.path.join(self.tmp, "profile")}',
             f'--window-size={WINDOW[0]},{WINDOW[1]}', '--remote-debugging-pipe', 'about:blank'],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log,
            pass_fds=(3, 4), preexec_fn=give_pipe_fds)
        os.close(commands_read)
        os.close(replies_write)
        self.commands = commands_write
        self.replies = replies_read

    def close(self):
        try:
            if self.process.poll() is None:
                try:
                    self.send('Browser.close', session=False)
                    self.process.wait(timeout=5)
                except (Fatal, subprocess.TimeoutExpired):
                    pass
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            os.close(self.commands)
            os.close(self.replies)
            self.log.close()
            shutil.rmtree(self.tmp, ignore_errors=True)

    def log_tail(self):
        with open(os.path.join(self.tmp, 'chromium.log'), 'rb') as log:
            return log.read()[-2000:].decode(errors='replace')

    def send(self, method, params=None, session=True):
        """Sends one command (to the page's session unless session=False) and returns its result."""
        self.next_id += 1
        message = {'id': self.next_id, 'method': method, 'params': params or {}}
        if session and self.session:
            message['sessionId'] = self.session
        data = json.dumps(message).encode() + b'\0'
        try:
            while data:
                data = data[os.write(self.commands, data):]
        except BrokenPipeError:
            raise Fatal('Chromium exited')
        while True:
            reply = self.receive()
            if reply.get('id') == self.next_id:
                if 'error' in reply:
                    raise Fatal(f'{method} failed: {reply["error"].get("message")}')
                return reply['result']
            if 'method' in reply:
                self.events.append(reply)

    def receive(self):
        while b'\0' not in self.buffer:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise Fatal(f'global deadline of {DEADLINE_S} s passed')
            if not select.select([self.replies], [], [], left)[0]:
                continue
            data = os.read(self.replies, 1 << 16)
            if not data:
                raise Fatal('Chromium closed the DevTools pipe')
            self.buffer += data
        message, self.buffer = self.buffer.split(b'\0', 1)
        return json.loads(message)

    def wait_event(self, method):
        while not any(event['method'] == method for event in self.events):
            self.events.append(self.receive())

    def open(self, url):
        """Loads url in a new tab; evaluating before its load event could hit the old document."""
        target = self.send('Target.createTarget', {'url': 'about:blank'})
        attached = self.send('Target.attachToTarget', {'targetId': target['targetId'], 'flatten': True})
        self.session = attached['sessionId']
        self.send('Page.enable')
        # The window's own frame takes part of --window-size; make the page itself the full size.
        self.send('Emulation.setDeviceMetricsOverride',
                  {'width': WINDOW[0], 'height': WINDOW[1], 'deviceScaleFactor': 1, 'mobile': False})
        self.send('Runtime.enable')
        self.events.clear()
        navigation = self.send('Page.navigate', {'url': url})
        if 'errorText' in navigation:
            raise Fatal(f'could not load {url}: {navigation["errorText"]}')
        self.wait_event('Page.loadEventFired')

    def exceptions(self):
        """The page's uncaught exceptions (unhandled promise rejections included)."""
        for event in self.events:
            if event['method'] == 'Runtime.exceptionThrown':
                details = event['params']['exceptionDetails']
                description = details.get('exception', {}).get('description') or details['text']
                yield description.splitlines()[0]   # the message; the stack would break "one line per failure"

    def evaluate(self, expression):
        result = self.send('Runtime.evaluate', {'expression': expression, 'returnByValue': True})
        if 'exceptionDetails' in result:
            details = result['exceptionDetails']
            thrown = details.get('exception', {}).get('description') or details.get('text')
            raise Fatal(f'evaluating {expression!r} threw: {thrown}')
        return result['result'].get('value')

    def wait_for(self, expression, timeout):
        """Polls a JS expression until it is truthy; returns its value, or None at the timeout."""
        until = min(self.deadline, time.monotonic() + timeout)
        while time.monotonic() < until:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.1)
        return None


# Fills the form (JSON-encoded values keep any character intact) and clicks Generate.
GENERATE = '''(() => {
  const values = %s;
  for (const [id, value] of Object.entries(values)) document.getElementById(id).value = value;
  document.getElementById('generate').click();
})()'''

# What the checks read back from the page after a generation.
STATE = '''(() => {
  const text = (id) => document.getElementById(id).textContent;
  const status = text('status'), error = text('error');
  const finished = status.startsWith('done') || error !== '';
  return finished && {status, error, output: text('output'),
                      bars: document.querySelectorAll('#bars .bar-row[data-token]').length};
})()'''


def generate(browser, fields):
    browser.evaluate(GENERATE % json.dumps(fields))
    return browser.wait_for(STATE, GENERATION_TIMEOUT_S)


def run_checks(browser, args, fail):
    browser.open(args.url)
    if not browser.evaluate("!!document.getElementById('generate')"):
        raise Fatal(f'the page at {args.url} has no #generate element')
    if args.api_key:
        browser.evaluate(f"document.getElementById('api_key').value = {json.dumps(args.api_key)}")

    state = generate(browser, {'prompt': args.prompt, 'max_tokens': '60', 'seed': '123'})
    if not state:
        status = browser.evaluate("document.getElementById('status').textContent")
        raise Fatal(f'generation did not finish within {GENERATION_TIMEOUT_S} s (status: {status!r})')
    if state['error']:
        fail(f'generation showed an error: {state["error"]}')
    if not (state['output'].startswith(args.prompt) and len(state['output']) > len(args.prompt)):
        fail(f'#output should be the prompt followed by generated text, is {state["output"]!r}')
    if state['bars'] < 2:
        fail(f'#bars should hold at least 2 .bar-row elements, holds {state["bars"]}')
    if args.screenshot:
        shot = browser.send('Page.captureScreenshot', {'format': 'png'})
        with open(args.screenshot, 'wb') as out:
            out.write(base64.b64decode(shot['data']))

    bad = args.bad_char
    state = generate(browser, {'prompt': args.prompt + bad, 'seed': ''})
    if not state:
        fail(f'a prompt with {bad!r} neither failed nor finished within {GENERATION_TIMEOUT_S} s')
    elif not state['error']:
        fail(f'a prompt with {bad!r} (outside the vocabulary) generated instead of showing an error')
    elif not (bad in state['error'] or f'U+{ord(bad):04X}' in state['error'].upper()
              or 'vocabulary' in state['error'].lower()):
        fail(f'the error for {bad!r} names neither the character nor "vocabulary": {state["error"]}')

    for description in browser.exceptions():
        fail(f'the page threw: {description}')


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--url', required=True, help='the server page, e.g. http://127.0.0.1:8080/')
    parser.add_argument('--screenshot', help='save a PNG of the page after the generation')
    parser.add_argument('--bad-char', default='\u2603',
                        help='a character outside the model vocabulary, or its \\uXXXX escape')
    parser.add_argument('--prompt', default='The ', help='a prompt inside the model vocabulary')
    parser.add_argument('--api-key', help='the key the server requires, if any')
    parser.add_argument('--chromium', default='/usr/bin/chromium')
    args = parser.parse_args()
    if re.fullmatch(r'\\u[0-9a-fA-F]{4}', args.bad_char):
        args.bad_char = chr(int(args.bad_char[2:], 16))
    if len(args.bad_char) != 1:
        parser.error('--bad-char takes exactly one character')
    if not os.access(args.chromium, os.X_OK):
        print(f'FAIL: no Chromium at {args.chromium}')
        return 1

    failures = []

    def fail(message):
        failures.append(message)
        print(f'FAIL: {message}', flush=True)

    browser = Browser(args.chromium, time.monotonic() + DEADLINE_S)
    try:
        run_checks(browser, args, fail)
    except Fatal as error:
        fail(str(error))
        if browser.process.poll() is not None:
            print(f'Chromium exited with {browser.process.returncode}; its log ends:\n{browser.log_tail()}',
                  file=sys.stderr)
    finally:
        browser.close()
    if failures:
        return 1
    print('page test passed')
    return 0


if __name__ == '__main__':
    sys.exit(main())
