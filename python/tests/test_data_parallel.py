"""genrnn.train under mpirun: 2 processes reach one process's weights, process 0 alone saves and
reports, and processes that disagree raise genrnn.Error together. Loopback only, bounded."""
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import genrnn

pytestmark = pytest.mark.skipif(shutil.which("mpirun") is None or not genrnn.build_has_mpi(),
                                reason="needs mpirun and a build of genrnn with MPI")

# Each process trains with the arguments given on its command line; dropout on, so that the
# processes must draw one process's masks.
SCRIPT = """
import sys, genrnn
text, out, lr = sys.argv[1], sys.argv[2], float(sys.argv[3])
try:
    genrnn.train(text, layers=2, hidden=16, embed=8, batch=6, seq_len=10, steps=12, dropout=0.3, lr=lr,
                 device="cpu", out=out, seed=5, val_frac=0.1,
                 callback=lambda p: print(f"rank {genrnn.process_place()['rank']} step {p.step}", flush=True))
except genrnn.Error as error:
    print(f"rank {genrnn.process_place()['rank']} error: {error}", flush=True)
"""
MPI_ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_rmaps_base_oversubscribe="1", OMPI_MCA_btl_tcp_if_include="lo",
               OMPI_MCA_oob_tcp_if_include="lo", OMPI_MCA_btl_vader_single_copy_mechanism="none",
               OMPI_MCA_mpi_yield_when_idle="1")


def run(folder, text, out, processes, lr="0.002", other_lr=None):
    script = os.path.join(folder, "train.py")
    with open(script, "w") as f:
        f.write(SCRIPT)
    command = [sys.executable, script, text, out, lr]
    if processes > 1:
        command = ["mpirun", "-np", "1"] + command + [":", "-np", str(processes - 1)] + command[:-1] + [other_lr or lr]
    result = subprocess.run(command, env=MPI_ENV, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


def parameters(path):
    return genrnn.Model.load(path).state_dict()


def test_two_processes_reach_one_process_weights(tmp_path, text):
    corpus = tmp_path / "text.txt"
    corpus.write_text(text)
    run(str(tmp_path), str(corpus), str(tmp_path / "one.safetensors"), 1)
    printed = run(str(tmp_path), str(corpus), str(tmp_path / "two.safetensors"), 2)
    assert "rank 0 step 12" in printed and "rank 1 step 12" in printed  # the callback runs everywhere
    one, two = parameters(tmp_path / "one.safetensors"), parameters(tmp_path / "two.safetensors")
    assert one.keys() == two.keys()
    for name in one:
        np.testing.assert_allclose(np.asarray(two[name]), np.asarray(one[name]), atol=2e-5, err_msg=name)


def test_processes_that_disagree_raise_the_same_error(tmp_path, text):
    corpus = tmp_path / "text.txt"
    corpus.write_text(text)
    printed = run(str(tmp_path), str(corpus), str(tmp_path / "m.safetensors"), 2, lr="0.002", other_lr="0.01")
    message = "the processes of the run disagree on --lr: process 1 has 0.01, process 0 has 0.002"
    assert f"rank 0 error: {message}" in printed and f"rank 1 error: {message}" in printed, printed
    assert not (tmp_path / "m.safetensors").exists()
