"""Generation: seeds, batches, stream(), stop strings, recurrent state in and out, the GIL."""
import subprocess
import threading
import time

import numpy as np
import pytest

import genrnn


def test_a_seed_repeats_its_text_and_streams_are_independent_of_the_batch(small_model):
    first = small_model.generate("the ", 80, temperature=0.8, seed=11, device="cpu")
    assert isinstance(first, str) and first
    assert small_model.generate("the ", 80, temperature=0.8, seed=11, device="cpu") == first
    assert small_model.generate("the ", 80, temperature=0.8, seed=12, device="cpu") != first
    batch = small_model.generate("the ", 80, temperature=0.8, seed=11, num_samples=3, device="cpu")
    assert isinstance(batch, list) and len(batch) == 3
    assert batch[0] == first  # stream k draws with (seed, k), whatever the batch
    assert len(set(batch)) > 1
    assert len(small_model.generate("the ", 80, temperature=0, device="cpu")) == 80  # char level: 80 characters


def test_a_seed_gives_gen_cuda_sample_s_text(small_model, gen_cuda, tmp_path):
    path = tmp_path / "model.safetensors"
    small_model.save(path)
    args = ["-p", "the ", "-n", "60", "--temp", "0.9", "--top-k", "8", "-s", "77", "--device", "cpu"]
    result = subprocess.run([gen_cuda, "sample", "-m", str(path), *args], capture_output=True, text=True, check=True)
    assert result.stdout == "the " + small_model.generate("the ", 60, temperature=0.9, top_k=8, seed=77,
                                                          device="cpu")


def test_the_defaults_are_gen_cuda_sample_s(small_model, gen_cuda, tmp_path):
    # One set of defaults, the library's: length, temperature, top-k and top-p left out on both sides.
    path = tmp_path / "model.safetensors"
    small_model.save(path)
    args = ["-p", "the ", "-s", "5", "--device", "cpu"]
    result = subprocess.run([gen_cuda, "sample", "-m", str(path), *args], capture_output=True, text=True, check=True)
    assert result.stdout == "the " + small_model.generate("the ", seed=5, device="cpu")
    assert small_model.generate("the ", seed=5, device="cpu") == small_model.generate("the ", seed=5, temperature=0.8,
                                                                                       device="cpu")


def test_gpu_matters_only_to_a_gpu_engine(small_model, text):
    args = dict(temperature=0.8, seed=11, device="cpu")
    expected = small_model.generate("the ", 60, **args)
    assert small_model.generate("the ", 60, gpu=5, **args) == expected
    assert "".join(small_model.stream("the ", 60, gpu=5, **args)) == expected
    # Each GPU number has its own engine set up, as a GPU engine lives on one device.
    generators = small_model._generators
    assert generators[("cpu", "auto", "auto", 5, True)] is not generators[("cpu", "auto", "auto", -1, True)]
    state = small_model.state("the cat ", device="cpu")
    for got, want in zip(small_model.state("the cat ", device="cpu", gpu=5), state):
        np.testing.assert_array_equal(got, want)
    loss = small_model.evaluate(text[:500], device="cpu").loss
    assert small_model.evaluate(text[:500], device="cpu", gpu=5).loss == loss


def test_stream_pieces_join_to_the_generated_text(small_model):
    args = dict(temperature=0.7, top_k=5, top_p=0.9, seed=5, device="cpu")
    pieces = list(small_model.stream("a dog", 120, **args))
    assert len(pieces) == 120
    assert "".join(pieces) == small_model.generate("a dog", 120, **args)


def test_leaving_a_stream_early_stops_it(small_model):
    taken = []
    for piece in small_model.stream("the ", 100000, temperature=1.0, seed=1, device="cpu"):
        taken.append(piece)
        if len(taken) == 5:
            break
    assert len(taken) == 5
    assert threading.active_count() == 1 or all(t.name != "genrnn-stream" for t in threading.enumerate())
    assert small_model.generate("the ", 10, temperature=0, device="cpu")  # the model is free again


def test_stop_ends_a_sample_right_after_the_stop_string(small_model):
    for stop in (" ", "at", "e s"):
        text = small_model.generate("the ", 400, temperature=0.8, seed=2, stop=stop, device="cpu")
        assert text.endswith(stop) and text.count(stop) == 1, (stop, text)


def test_state_in_and_out_continue_a_text_exactly(small_model):
    h, c = small_model.state("the cat ", device="cpu")
    assert h.shape == c.shape == (1, 1, 32) and h.dtype == np.float32
    for seed in (1, 2):
        assert small_model.generate("sat", 50, temperature=0.5, seed=seed, initial_state=(h, c), device="cpu") == \
            small_model.generate("the cat sat", 50, temperature=0.5, seed=seed, device="cpu")
    continued = small_model.state("sat", initial_state=(h, c), device="cpu")
    whole = small_model.state("the cat sat", device="cpu")
    np.testing.assert_allclose(continued[0], whole[0], atol=1e-6)
    np.testing.assert_allclose(continued[1], whole[1], atol=1e-6)
    batch = small_model.generate("sat", 20, temperature=0, num_samples=2, device="cpu",
                                 initial_state=(np.repeat(h, 2, axis=1), np.repeat(c, 2, axis=1)))
    assert batch == [small_model.generate("the cat sat", 20, temperature=0, device="cpu")] * 2
    with pytest.raises(genrnn.Error, match="shape"):
        small_model.generate("sat", 5, initial_state=(h[:, :, :5], c), device="cpu")
    with pytest.raises(genrnn.Error, match="streams"):
        small_model.generate("sat", 5, num_samples=2, initial_state=(h, c), device="cpu")


def test_a_gru_state_is_one_array(text):
    gru = genrnn.train(text, cell="gru", layers=2, hidden=16, embed=0, seq_len=20, batch=4, steps=3, device="cpu")
    h = gru.state("the ", device="cpu")
    assert isinstance(h, np.ndarray) and h.shape == (2, 1, 16)
    assert gru.generate("cat", 30, temperature=0, initial_state=h, device="cpu") == \
        gru.generate("the cat", 30, temperature=0, device="cpu")


def test_generation_releases_the_gil(small_model):
    done = threading.Event()
    worker = threading.Thread(target=lambda: (small_model.generate("the ", 30000, seed=1, device="cpu"), done.set()))
    worker.start()
    ticks = 0
    while not done.is_set():  # runs only while the generating thread lets go of the GIL
        ticks += 1
        time.sleep(0)
    worker.join()
    assert ticks > 100


def test_beam_search_is_deterministic_greedy_at_width_1_and_returns_the_n_best(small_model):
    greedy = small_model.generate("the ", 40, temperature=0, device="cpu")
    assert small_model.generate("the ", 40, beam_width=1, device="cpu") == greedy
    best = small_model.generate_scored("the ", 40, beam_width=4, num_samples=3, length_penalty=0.6, device="cpu")
    assert len(best) == 3
    assert [b["score"] for b in best] == sorted((b["score"] for b in best), reverse=True)
    assert small_model.generate("the ", 40, beam_width=4, num_samples=3, length_penalty=0.6,
                                device="cpu") == [b["text"] for b in best]
    for b in best:
        assert b["logprob"] < 0 and len(b["ids"]) == 40
    with pytest.raises(genrnn.Error, match="returns 1 to 2 hypotheses"):
        small_model.generate("the ", 10, beam_width=2, num_samples=3, device="cpu")


def test_sampled_outputs_come_with_their_ids_and_log_probabilities(small_model):
    scored = small_model.generate_scored("the ", 30, seed=5, num_samples=2, device="cpu")
    assert [s["text"] for s in scored] == small_model.generate("the ", 30, seed=5, num_samples=2, device="cpu")
    assert all(s["logprob"] == s["score"] < 0 and len(s["ids"]) == 30 for s in scored)
    with pytest.raises(TypeError):
        small_model.generate_scored("the ", 30, beams=2)
