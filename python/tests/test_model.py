"""Model: save and load, state dicts, vocabulary and shape."""
import dataclasses
import inspect

import numpy as np
import pytest

import genrnn


def flat(model):
    return np.concatenate([np.asarray(v).reshape(-1) for v in model.state_dict().values()])


def test_save_and_load_give_the_same_model(small_model, tmp_path):
    path = tmp_path / "model.safetensors"
    small_model.save(path)
    loaded = genrnn.Model.load(path)
    assert loaded.config == small_model.config
    assert loaded.vocab == small_model.vocab
    assert np.array_equal(flat(loaded), flat(small_model))
    assert loaded.generate("the ", 40, temperature=0, device="cpu") == \
        small_model.generate("the ", 40, temperature=0, device="cpu")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.safetensors"]  # no temporary left


def test_config_vocab_and_parameter_count(small_model, text):
    config = small_model.config
    assert (config.cell, config.num_layers, config.hidden_size, config.embedding_dim) == ("lstm", 1, 32, 8)
    assert config.tokenizer == "char"
    assert small_model.vocab == sorted(set(text))
    assert config.vocab_size == len(small_model.vocab)
    assert small_model.num_parameters == sum(np.asarray(v).size for v in small_model.state_dict().values())
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.hidden_size = 3
    assert "lstm 1x32" in repr(small_model)


def test_state_dict_has_pytorch_names_and_shapes(small_model):
    c = small_model.config
    shapes = {name: tuple(value.shape) for name, value in small_model.state_dict().items()}
    v, e, h = c.vocab_size, c.embedding_dim, c.hidden_size
    assert shapes == {"embedding.weight": (v, e), "rnn.weight_ih_l0": (4 * h, e), "rnn.weight_hh_l0": (4 * h, h),
                      "rnn.bias_ih_l0": (4 * h,), "rnn.bias_hh_l0": (4 * h,), "head.weight": (v, h),
                      "head.bias": (v,)}


def test_state_dict_round_trips_through_from_torch(small_model):
    moved = genrnn.from_torch(small_model.state_dict(), small_model.vocab)
    assert moved.config == small_model.config
    assert np.array_equal(flat(moved), flat(small_model))


def test_from_torch_takes_numpy_arrays_and_renames_submodules(small_model):
    renamed = {k.replace("rnn.", "lstm.").replace("head.", "fc.").replace("embedding.", "embed."): np.asarray(v)
               for k, v in small_model.state_dict().items()}
    guessed = genrnn.from_torch(renamed, small_model.vocab)
    given = genrnn.from_torch(renamed, small_model.vocab, rename={"lstm": "rnn", "fc": "head", "embed": "embedding"})
    assert np.array_equal(flat(guessed), flat(small_model))
    assert np.array_equal(flat(given), flat(small_model))


def test_from_torch_refuses_what_fits_no_model(small_model):
    state = {k: np.asarray(v) for k, v in small_model.state_dict().items()}
    with pytest.raises(genrnn.Error, match="vocabulary has 3 tokens"):
        genrnn.from_torch(state, ["a", "b", "c"])
    with pytest.raises(genrnn.Error, match="but the weights are those of a lstm"):
        genrnn.from_torch(state, small_model.vocab, cell="gru")
    without_bias = {k: v for k, v in state.items() if k != "rnn.bias_hh_l0"}
    with pytest.raises(genrnn.Error, match="missing \\['rnn.bias_hh_l0'\\]"):
        genrnn.from_torch(without_bias, small_model.vocab)
    wrong_shape = dict(state, **{"head.bias": np.zeros(3, np.float32)})
    with pytest.raises(genrnn.Error, match="head.bias"):
        genrnn.from_torch(wrong_shape, small_model.vocab)


def test_encode_and_decode_round_trip(small_model, text):
    ids = small_model.encode(text[:300])
    assert len(ids) == 300 and all(0 <= i < small_model.config.vocab_size for i in ids)
    assert small_model.decode(ids) == text[:300]
    assert small_model.encode("the \u00e9", unknown="skip") == small_model.encode("the ")


def test_cpu_threads_can_be_set_and_are_checked():
    before = genrnn.cpu_threads()
    assert before >= 1
    genrnn.set_cpu_threads(1)
    assert genrnn.cpu_threads() == 1
    genrnn.set_cpu_threads(before)
    with pytest.raises(genrnn.Error, match="threads"):
        genrnn.set_cpu_threads(0)


def test_every_public_function_has_a_signature_and_a_docstring():
    for name in genrnn.__all__:
        item = getattr(genrnn, name)
        if isinstance(item, type) or inspect.isroutine(item):  # not the State type alias
            assert item.__doc__, name
    for method in (genrnn.Model.generate, genrnn.Model.stream, genrnn.Model.evaluate, genrnn.Model.state,
                   genrnn.Model.state_dict, genrnn.Model.load, genrnn.train, genrnn.from_torch, genrnn.plot_training):
        assert method.__doc__ and len(method.__doc__) > 40, method
        assert inspect.signature(method).parameters, method
    generate = inspect.signature(genrnn.Model.generate).parameters
    # None: the library's default, which gen_cuda's flags read too.
    assert generate["temperature"].default is None and generate["n"].default is None
    assert generate["temperature"].kind is inspect.Parameter.KEYWORD_ONLY


def test_the_option_structs_hold_the_library_s_defaults():
    options = genrnn._genrnn.GenerateOptions()
    assert options.length == 200 and options.sampling.temperature == pytest.approx(0.8)
    assert (options.sampling.top_k, options.sampling.top_p, options.unknown) == (0, 1.0, "error")
    train = genrnn._genrnn.TrainOptions()
    assert (train.seq_len, train.batch, train.time_limit, train.engine.device) == (100, 32, 0.0, "auto")
    train.step.optimizer = "sgd"  # nested structs are the options' own, not copies
    train.engine.device = "cpu"
    assert (train.step.optimizer, train.engine.device) == ("sgd", "cpu")
    with pytest.raises(genrnn.Error, match="optimizer"):
        train.step.optimizer = "lbfgs"


def test_engines_give_every_field_of_the_library_s_engine_info():
    engines = {engine["name"]: engine for engine in genrnn.engines()}
    cpu = engines["cpu"]
    assert set(cpu) == {"name", "description", "device", "dropout", "decoders", "cells", "limits", "in_this_build",
                        "why_not"}
    assert cpu["device"] == "cpu" and cpu["in_this_build"] and cpu["dropout"]
    assert "lstm" in cpu["cells"]
