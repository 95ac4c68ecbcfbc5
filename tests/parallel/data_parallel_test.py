#!/usr/bin/env python3
"""Data-parallel training under mpirun, end to end through gen_cuda on the CPU engine.

    data_parallel_test.py GEN_CUDA [NAME ...]

Processes run on this machine only (loopback), oversubscribed on its cores, each mpirun bounded
in time. A build without MPI runs only the refusal test. Each test prints what it compares.
"""
import json
import os
import random
import signal
import struct
import subprocess
import sys
import tempfile
import time

import numpy as np

GEN_CUDA = os.path.abspath(sys.argv[1])
MPIRUN_SECONDS = 120  # any one mpirun; a hang fails the test instead of the whole suite
# Loopback only, as root where CI runs as root, more processes than cores, no kernel-assisted
# copies (containers often forbid them).
MPI_ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_rmaps_base_oversubscribe="1", OMPI_MCA_btl_tcp_if_include="lo",
               OMPI_MCA_oob_tcp_if_include="lo", OMPI_MCA_btl_vader_single_copy_mechanism="none",
               OMPI_MCA_mpi_yield_when_idle="1")
# Dropout on: N processes must draw one process's masks.
TRAIN = ["train", "--device", "cpu", "--layers", "2", "--hidden", "32", "--embed", "16", "--batch", "12",
         "--seq-len", "20", "--dropout", "0.3", "--val-frac", "0.1", "--log-every", "10"]


def load_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length])
    body = data[8 + length:]
    types = {"F32": np.float32, "F64": np.float64, "I64": np.int64, "I32": np.int32, "U8": np.uint8}
    return {name: np.frombuffer(body[t["data_offsets"][0]:t["data_offsets"][1]], dtype=types[t["dtype"]])
            for name, t in header.items() if name != "__metadata__"}


def assert_close(a_path, b_path, tolerance=2e-5):
    """Every tensor of two checkpoints equal within float summation order."""
    a, b = load_safetensors(a_path), load_safetensors(b_path)
    assert sorted(a) == sorted(b), (sorted(a), sorted(b))
    worst = max(float(np.max(np.abs(a[k].astype(np.float64) - b[k].astype(np.float64)), initial=0)) for k in a)
    print(f"  {os.path.basename(b_path)} vs {os.path.basename(a_path)}: max |difference| {worst:.3g}")
    assert worst <= tolerance, f"{b_path} differs from {a_path} by {worst}"


def run(args, processes=None, expect=0, timeout=MPIRUN_SECONDS):
    command = [GEN_CUDA] + args
    if processes:
        command = ["mpirun", "-np", str(processes)] + command
    result = subprocess.run(command, env=MPI_ENV, capture_output=True, text=True, timeout=timeout)
    if expect is not None and result.returncode != expect:
        raise AssertionError(f"{' '.join(command)} exited {result.returncode}, not {expect}:\n{result.stderr}")
    return result


def final_line(result):
    return [line for line in result.stderr.splitlines() if line.startswith("done at step")][-1]


def test_ranks_reach_one_process_weights(folder, text):
    """2 and 3 processes with the same global batch reach one process's weights and losses."""
    one = run(TRAIN + ["--data", text, "--steps", "30", "--out", f"{folder}/one.safetensors"])
    for n in (2, 3):
        many = run(TRAIN + ["--data", text, "--steps", "30", "--out", f"{folder}/n{n}.safetensors"], processes=n)
        assert final_line(many).replace(f"n{n}", "one") == final_line(one), (final_line(many), final_line(one))
        assert many.stderr.count("done at step") == 1, "only process 0 reports"
        assert_close(f"{folder}/one.safetensors", f"{folder}/n{n}.safetensors")
        assert_close(f"{folder}/one.safetensors.optim", f"{folder}/n{n}.safetensors.optim")


def test_resume_from_two_processes_onto_three(folder, text):
    """A run saved by 2 processes continues on 3 to the weights of one uninterrupted process."""
    run(TRAIN + ["--data", text, "--steps", "30", "--out", f"{folder}/one.safetensors"])
    run(TRAIN + ["--data", text, "--steps", "15", "--out", f"{folder}/moved.safetensors"], processes=2)
    run(TRAIN + ["--data", text, "--steps", "30", "--out", f"{folder}/moved.safetensors", "--resume"], processes=3)
    assert_close(f"{folder}/one.safetensors", f"{folder}/moved.safetensors")
    assert_close(f"{folder}/one.safetensors.optim", f"{folder}/moved.safetensors.optim")


def test_killed_process_ends_the_run(folder, text):
    """Killing one process ends the run within seconds, non-zero, its checkpoint whole."""
    out = f"{folder}/killed.safetensors"
    command = ["mpirun", "-np", "2", GEN_CUDA] + TRAIN + ["--data", text, "--steps", "1000000",
                                                          "--checkpoint-every", "5", "--out", out]
    job = subprocess.Popen(command, env=MPI_ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not os.path.exists(out + ".optim") and time.monotonic() < deadline:
            time.sleep(0.2)
        assert os.path.exists(out + ".optim"), "no checkpoint within 60 s"
        victim = None
        while victim is None and time.monotonic() < deadline:
            victim = process_of_rank(1)
        assert victim, "process 1 not found"
        os.kill(victim, signal.SIGKILL)
        killed = time.monotonic()
        _, stderr = job.communicate(timeout=30)
        print(f"  mpirun ended {time.monotonic() - killed:.1f} s after process 1 was killed, exit {job.returncode}")
        assert job.returncode != 0
        assert "rank 1" in stderr and "exited on signal 9" in stderr, stderr[-2000:]
    finally:
        if job.poll() is None:
            job.kill()
            job.communicate()
    sample = run(["sample", "-m", out, "--device", "cpu", "--prompt", "the ", "-n", "20", "-s", "1"])
    assert sample.stdout.startswith("the "), sample.stdout
    resumed = run(TRAIN + ["--data", text, "--steps", "1000000", "--time-limit", "1", "--out", out, "--resume"],
                  processes=2)
    assert "resuming after step" in resumed.stderr, resumed.stderr


def process_of_rank(rank):
    for pid in os.listdir("/proc"):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if not f.read().startswith(GEN_CUDA.encode()):
                    continue
            with open(f"/proc/{pid}/environ", "rb") as f:
                if f"OMPI_COMM_WORLD_RANK={rank}".encode() in f.read().split(b"\0"):
                    return int(pid)
        except OSError:
            continue
    return None


def test_processes_that_disagree_refuse(folder, text):
    """Processes started with different options stop at once, naming the difference; nothing is written."""
    out = f"{folder}/mismatch.safetensors"
    common = TRAIN + ["--data", text, "--steps", "10", "--out", out]
    command = ["mpirun", "-np", "1", GEN_CUDA] + common + [":", "-np", "1", GEN_CUDA] + common + ["--lr", "0.01"]
    result = subprocess.run(command, env=MPI_ENV, capture_output=True, text=True, timeout=MPIRUN_SECONDS)
    print("  " + result.stderr.splitlines()[0])
    assert result.returncode != 0
    assert "gen_cuda: error: the processes of the run disagree on --lr: process 1 has 0.01, process 0 has 0.002" in result.stderr, result.stderr
    assert not os.path.exists(out)
    run(TRAIN + ["--data", text, "--steps", "5", "--out", out])
    resumed_by_one = subprocess.run(["mpirun", "-np", "1", GEN_CUDA] + common + ["--resume", ":", "-np", "1", GEN_CUDA]
                                    + common, env=MPI_ENV, capture_output=True, text=True, timeout=MPIRUN_SECONDS)
    assert resumed_by_one.returncode != 0
    assert "the processes of the run disagree on --resume: process 1 has no, process 0 has yes" in \
        resumed_by_one.stderr, resumed_by_one.stderr
    os.remove(out)
    os.remove(out + ".optim")
    odd = run(TRAIN + ["--data", text, "--steps", "10", "--out", out, "--batch", "10"], processes=3, expect=None)
    assert odd.returncode != 0
    assert "gen_cuda: error: --batch 10 is not divisible by the 3 processes of the run" in odd.stderr, odd.stderr


def test_bench_times_the_whole_batch_and_its_scaling(folder, text):
    """bench --test train under mpirun: the whole batch's tokens/s, beside one process's alone."""
    result = run(["bench", "--device", "cpu", "--test", "train", "--hidden", "8", "--vocab", "20", "--batch", "4",
                  "--seq-len", "5", "-r", "2", "-o", "json"], processes=2)
    records = json.loads(result.stdout)
    assert len(records) == 1, result.stdout  # process 0 alone prints
    record = records[0]
    print(f"  {record['avg_tokens_per_s']:.0f} tokens/s on 2 processes, {record['one_process_tokens_per_s']:.0f} "
          f"on one: scaling {record['scaling']:.2f}")
    assert record["processes"] == 2 and record["n_tokens"] == 20
    assert record["one_process_tokens_per_s"] > 0
    assert abs(record["scaling"] - record["avg_tokens_per_s"] / record["one_process_tokens_per_s"]) < 1e-9


def test_build_without_mpi_refuses(folder, text):
    """A build without MPI, started as one of several processes, refuses instead of training copies."""
    out = f"{folder}/nompi.safetensors"
    result = run(TRAIN + ["--data", text, "--steps", "5", "--out", out], processes=2, expect=None)
    assert result.returncode != 0
    assert "this process is one of 2 that an MPI launcher started, but this build has no MPI" in result.stderr, \
        result.stderr
    assert not os.path.exists(out)


def make_text(path):
    rng = random.Random(7)
    words = "the a news market rises falls today city team wins new plan for old river light".split()
    with open(path, "w") as f:
        f.write("\n".join(" ".join(rng.choice(words) for _ in range(rng.randint(4, 10))) for _ in range(600)))


def main():
    info = subprocess.run([GEN_CUDA, "info"], capture_output=True, text=True, check=True).stdout
    with_mpi = "data parallel (mpirun -np N gen_cuda train): MPI yes" in info
    tests = [test_ranks_reach_one_process_weights, test_resume_from_two_processes_onto_three,
             test_killed_process_ends_the_run, test_processes_that_disagree_refuse,
             test_bench_times_the_whole_batch_and_its_scaling] if with_mpi \
        else [test_build_without_mpi_refuses]
    wanted = sys.argv[2:]
    for test in tests:
        if wanted and test.__name__ not in wanted:
            continue
        with tempfile.TemporaryDirectory() as folder:
            text = f"{folder}/text.txt"
            make_text(text)
            print(test.__name__ + ": " + test.__doc__.splitlines()[0], flush=True)
            test(folder, text)
    print("passed")


if __name__ == "__main__":
    main()
