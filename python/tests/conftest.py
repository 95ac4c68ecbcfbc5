"""Shared pieces of the Python package's tests (pytest python/tests, run by tools/test_python.sh)."""
import os
import random
import shutil
import subprocess
import sysconfig

import numpy as np
import pytest

import genrnn

SENTENCES = ["the cat sat on the mat. ", "a dog ran to the park. ", "my hat is red. ",
             "we like to sing songs. ", "the sun is hot today. ", "birds fly over the sea.\n"]


def structured_text(length, seed):
    """Sentences drawn from a few templates: text a small model can learn in a few steps."""
    rng = random.Random(seed)
    text = ""
    while len(text) < length:
        text += rng.choice(SENTENCES)
    return text


def unigram_entropy(ids):
    """Entropy (nats) of the token frequencies: what a model that ignores context achieves."""
    counts = np.bincount(ids).astype(float)
    p = counts[counts > 0] / len(ids)
    return float(-(p * np.log(p)).sum())


@pytest.fixture(scope="session")
def text():
    return structured_text(6000, 1)


@pytest.fixture(scope="session")
def small_model(text):
    """A one-layer char LSTM trained briefly on `text`, on the CPU."""
    return genrnn.train(text, layers=1, hidden=32, embed=8, seq_len=40, batch=8, steps=60, lr=0.01,
                        device="cpu", seed=3)


@pytest.fixture(scope="session")
def gen_cuda():
    """The gen_cuda the package installed beside itself (pip install . puts it in the scripts folder)."""
    path = shutil.which("gen_cuda", path=sysconfig.get_path("scripts")) or shutil.which("gen_cuda")
    if path is None:
        pytest.skip("gen_cuda is not installed beside the package")
    return path


def cli_error(gen_cuda, *args):
    """gen_cuda's one-line error for `args`, without its "gen_cuda: error: " prefix."""
    result = subprocess.run([gen_cuda, *args], capture_output=True, text=True, timeout=120)
    assert result.returncode != 0, result.stdout
    lines = result.stderr.strip().splitlines()
    prefix = "gen_cuda: error: "
    assert lines and lines[-1].startswith(prefix), result.stderr
    return lines[-1][len(prefix):]


@pytest.fixture(autouse=True)
def _print_seed(request):
    """Fresh random inputs each run, with the seed printed (rerun with GENRNN_TEST_SEED=...)."""
    seed = int(os.environ.get("GENRNN_TEST_SEED", random.SystemRandom().getrandbits(32)))
    print(f"GENRNN_TEST_SEED={seed}")
    np.random.seed(seed)
    random.seed(seed)
    yield
