"""Bad input: genrnn.Error (a ValueError), one line, and the same message as gen_cuda's."""
import pytest

import genrnn
from conftest import cli_error


def error_of(call):
    with pytest.raises(genrnn.Error) as raised:
        call()
    message = str(raised.value)
    assert "\n" not in message and message
    return message


def test_error_is_a_value_error():
    assert issubclass(genrnn.Error, ValueError)


@pytest.fixture()
def files(tmp_path, small_model):
    bad_utf8 = tmp_path / "bad.txt"
    bad_utf8.write_bytes(b"caf\xc3( and more")
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    corrupt = tmp_path / "corrupt.safetensors"
    corrupt.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}      ")
    model = tmp_path / "model.safetensors"
    small_model.save(model)
    return dict(missing=tmp_path / "missing.txt", folder=tmp_path, bad_utf8=bad_utf8, empty=empty,
                corrupt=corrupt, model=model)


@pytest.mark.parametrize("which", ["missing", "folder", "bad_utf8", "empty"])
def test_a_bad_corpus_file_gives_gen_cuda_train_s_message(files, which, gen_cuda, tmp_path):
    path = files[which]
    message = error_of(lambda: genrnn.train(path, steps=1, device="cpu"))
    assert str(path) in message
    assert message == cli_error(gen_cuda, "train", "--data", str(path), "--out", str(tmp_path / "m.safetensors"))
    model = genrnn.Model.load(files["model"])
    assert error_of(lambda: model.evaluate(path, device="cpu")) == message


@pytest.mark.parametrize("which", ["missing", "corrupt", "bad_utf8"])
def test_a_bad_checkpoint_gives_gen_cuda_sample_s_message(files, which, gen_cuda):
    path = files[which]
    message = error_of(lambda: genrnn.Model.load(path))
    assert message == cli_error(gen_cuda, "sample", "-m", str(path), "-p", "the", "--device", "cpu")


def test_an_unknown_prompt_token_gives_gen_cuda_sample_s_message(files, gen_cuda):
    model = genrnn.Model.load(files["model"])
    message = error_of(lambda: model.generate("the \u00e9t\u00e9", 5, device="cpu"))
    assert "U+00E9" in message
    assert message == cli_error(gen_cuda, "sample", "-m", str(files["model"]), "-p", "the \u00e9t\u00e9",
                                "--device", "cpu")
    prompt_file = files["model"].with_name("text.txt")
    prompt_file.write_text("the \u00e9t\u00e9", encoding="utf-8")
    assert error_of(lambda: model.evaluate(prompt_file, device="cpu")) == \
        cli_error(gen_cuda, "eval", "-m", str(files["model"]), "--data", str(prompt_file), "--device", "cpu")


def test_a_path_like_str_that_names_no_file_is_an_error_not_a_text(tmp_path):
    message = error_of(lambda: genrnn.train(str(tmp_path / "corpus.txt"), steps=1))
    assert message.startswith("cannot open data file") and "corpus.txt" in message


@pytest.mark.parametrize("option, value, named", [
    ("temperature", -1.0, "temperature"), ("top_p", 0.0, "top-p"), ("top_k", -1, "top-k"), ("n", 0, "length"),
    ("num_samples", 0, "num-samples"), ("num_samples", 5000, "num-samples"), ("device", "tpu", "tpu"),
    ("engine", "nope", "nope"), ("decoder", "nope", "nope"), ("unknown", "drop", "drop")])
def test_an_out_of_range_generate_option_names_itself(small_model, option, value, named):
    message = error_of(lambda: small_model.generate("the ", **{"n": 5, "device": "cpu", option: value}))
    assert named in message


@pytest.mark.parametrize("option, value, named", [
    ("hidden", 0, "hidden"), ("layers", 65, "layers"), ("embed", -1, "embedding"), ("cell", "lstn", "lstn"),
    ("tokenizer", "bpe", "bpe"), ("seq_len", 0, "seq-len"), ("batch", 0, "batch"), ("lr", 0.0, "learning rate"),
    ("dropout", 1.0, "dropout"), ("val_frac", 0.6, "val-frac"), ("optimizer", "lbfgs", "lbfgs"),
    ("device", "tpu", "tpu"), ("steps", -3, "steps")])
def test_an_out_of_range_train_option_names_itself(text, option, value, named, tmp_path):
    args = dict(steps=1, device="cpu", out=tmp_path / "m.safetensors")
    args[option] = value
    assert named in error_of(lambda: genrnn.train(text, **args))
    assert not (tmp_path / "m.safetensors").exists()  # refused before any work


GPU_CALLS = {
    "train": lambda model, text, **kw: genrnn.train(text, steps=1, **kw),
    "generate": lambda model, text, **kw: model.generate("the ", 5, **kw),
    "stream": lambda model, text, **kw: list(model.stream("the ", 5, **kw)),
    "state": lambda model, text, **kw: model.state("the ", **kw),
    "evaluate": lambda model, text, **kw: model.evaluate(text[:200], **kw),
}


@pytest.mark.parametrize("call", GPU_CALLS)
def test_a_negative_gpu_names_gpu(small_model, text, call):
    message = error_of(lambda: GPU_CALLS[call](small_model, text, device="cpu", gpu=-2))
    assert message.startswith("gpu ") and "-2" in message


@pytest.mark.parametrize("call", GPU_CALLS)
def test_a_gpu_this_machine_cannot_give_is_an_error(small_model, text, call):
    # Whatever the build and the machine: no CUDA engines, no GPU, or no GPU 1000.
    message = error_of(lambda: GPU_CALLS[call](small_model, text, device="cuda", gpu=1000))
    assert "--device cuda" in message or "--gpu 1000" in message


def test_train_refuses_contradictions(text):
    assert "steps or epochs" in error_of(lambda: genrnn.train(text, steps=3, epochs=2))
    assert "resume needs out" in error_of(lambda: genrnn.train(text, resume=True))
