#!/usr/bin/python3
"""Write tests/fixtures/: genrnn checkpoints and the forward/backward numbers PyTorch gives for them.

For each case, <case>.safetensors is the model checkpoint and <case>.expected.safetensors holds
inputs, targets, h0 (c0), logits, the mean cross-entropy loss [1], hn (cn) and grad.<param> for
every parameter, all computed in float32 as a user would. The lnlstm models' layer-norm gains and
biases are drawn at random, not left at 1 and 0, so that an engine ignoring or swapping them fails.
lesson.* is the lesson's model exported through export_pytorch.py. Every file is read back and
checked before the script ends.
"""
import itertools
import json
import zlib
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from export_pytorch import export_lesson
from genrnn_model import GenRNN, load_checkpoint, save_checkpoint
from safetensors_io import read_safetensors, write_safetensors

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures"
VOCAB = list("abcdefghij") + ["\n"]
HIDDEN, BATCH, STEPS = 7, 3, 4
LESSON_BATCH, LESSON_STEPS = 2, 6
CASES = list(itertools.product(("lstm", "gru", "rnn", "lnlstm"), (1, 2), (0, 5)))
STATE_SCALE = 0.5
PAIR_STATE_CELLS = ("lstm", "lnlstm")  # the cells whose state is (h, c)


def case_name(cell, layers, embedding_dim):
    return f"{cell}_l{layers}_e{embedding_dim}"


def random_batch(model, batch, steps):
    """Random (inputs, targets) ids [B, T] and a nonzero initial state h0 or (h0, c0) [L, B, H]."""
    vocab, rnn, pair = model.vocab_size, model.rnn, model.cell in PAIR_STATE_CELLS
    inputs = torch.randint(vocab, (batch, steps))
    targets = torch.randint(vocab, (batch, steps))
    states = [STATE_SCALE * torch.randn(rnn.num_layers, batch, rnn.hidden_size)
              for _ in range(2 if pair else 1)]
    return inputs, targets, tuple(states) if pair else states[0]


def randomise_layer_norm(rnn):
    """LN gains (ln_*_weight) uniform(0.5, 1.5) and ln_cell_bias uniform(-0.5, 0.5), in
    registration order, from the global generator (after the module's own initialisation)."""
    with torch.no_grad():
        for name, p in rnn.named_parameters():
            if name.startswith("ln_cell_bias"):
                p.uniform_(-0.5, 0.5)
            elif name.startswith("ln_"):
                p.uniform_(0.5, 1.5)


def state_tensors(state, suffix):
    """{"h<suffix>": h} or {"h<suffix>": h, "c<suffix>": c} for an LSTM state pair."""
    if isinstance(state, tuple):
        return {f"h{suffix}": state[0], f"c{suffix}": state[1]}
    return {f"h{suffix}": state}


def expected_tensors(model, inputs, targets, state):
    """Run forward and backward of the mean cross-entropy; return every tensor a test compares."""
    model.zero_grad()
    logits, final = model(inputs, state)
    loss = F.cross_entropy(logits.reshape(-1, model.vocab_size), targets.reshape(-1))
    loss.backward()
    tensors = {"inputs": inputs, "targets": targets, **state_tensors(state, "0"),
               "logits": logits, "loss": loss.reshape(1), **state_tensors(final, "n")}
    tensors.update({f"grad.{name}": p.grad for name, p in model.named_parameters()})
    return {name: t.detach().numpy() for name, t in tensors.items()}


def write_expected(name, model, batch, steps):
    """Draw a batch, compute the expected tensors and write <name>.expected.safetensors."""
    inputs, targets, state = random_batch(model, batch, steps)
    tensors = expected_tensors(model, inputs, targets, state)
    metadata = {"genrnn.fixture": json.dumps({"case": name, "batch": batch, "steps": steps}),
                "torch.version": torch.__version__}
    write_safetensors(str(FIXTURES / f"{name}.expected.safetensors"), tensors, metadata)
    return tensors


def write_case(cell, layers, embedding_dim):
    """Write one random model and its expected numbers; return (name, expected tensors)."""
    name = case_name(cell, layers, embedding_dim)
    torch.manual_seed(zlib.crc32(name.encode()))
    model = GenRNN(cell, len(VOCAB), HIDDEN, layers, embedding_dim)
    if cell == "lnlstm":
        randomise_layer_norm(model.rnn)
    save_checkpoint(model, VOCAB, "char", str(FIXTURES / f"{name}.safetensors"))
    return name, write_expected(name, model, BATCH, STEPS)


def write_lesson():
    """Export the lesson's model and write its expected numbers; return (lesson module, expected)."""
    lesson = export_lesson(str(FIXTURES / "lesson.safetensors"))
    model, _, _ = load_checkpoint(str(FIXTURES / "lesson.safetensors"))
    return lesson, write_expected("lesson", model, LESSON_BATCH, LESSON_STEPS)


def initial_state(tensors):
    """The h0 or (h0, c0) stored in an expected file, as torch tensors."""
    h0 = torch.from_numpy(tensors["h0"])
    return (h0, torch.from_numpy(tensors["c0"])) if "c0" in tensors else h0


def verify(name, written):
    """Read both files back: same tensors bit for bit, and the checkpoint reproduces the logits."""
    expected, _ = read_safetensors(str(FIXTURES / f"{name}.expected.safetensors"))
    assert expected.keys() == written.keys(), name
    for key, array in written.items():
        assert expected[key].dtype == array.dtype and np.array_equal(expected[key], array), (name, key)
    model, _, config = load_checkpoint(str(FIXTURES / f"{name}.safetensors"))
    grads = {k for k in expected if k.startswith("grad.")}
    assert grads == {f"grad.{k}" for k, _ in model.named_parameters()}, name
    with torch.no_grad():
        logits, _ = model(torch.from_numpy(expected["inputs"]), initial_state(expected))
    np.testing.assert_allclose(logits.numpy(), expected["logits"], rtol=1e-6, atol=1e-7)
    return config


def verify_lesson_module(lesson, expected):
    """The lesson's own module (sequence-first, one-hot) gives the exported model's logits."""
    inputs = torch.from_numpy(expected["inputs"])
    one_hot = F.one_hot(inputs.t(), lesson.fc.out_features).float()
    with torch.no_grad():
        logits, _ = lesson(one_hot, initial_state(expected))
    np.testing.assert_allclose(logits.transpose(0, 1).numpy(), expected["logits"], rtol=1e-5, atol=1e-6)


def summary(name, config, expected):
    """One line per written file: name, size, contents."""
    model_path = FIXTURES / f"{name}.safetensors"
    expected_path = FIXTURES / f"{name}.expected.safetensors"
    loss = float(expected["loss"][0])
    return (f"{model_path.name}: {model_path.stat().st_size} bytes, {json.dumps(config)}\n"
            f"{expected_path.name}: {expected_path.stat().st_size} bytes, {len(expected)} tensors, "
            f"loss {loss:.6f}")


def main():
    torch.set_num_threads(1)
    FIXTURES.mkdir(parents=True, exist_ok=True)
    for case in CASES:
        name, expected = write_case(*case)
        print(summary(name, verify(name, expected), expected))
    lesson, expected = write_lesson()
    config = verify("lesson", expected)
    verify_lesson_module(lesson, expected)
    print(summary("lesson", config, expected))


if __name__ == "__main__":
    main()
