"""PyTorch interop: models trained in PyTorch move over and generate PyTorch's own greedy text."""
import importlib.util
import pathlib
import sys

import numpy as np
import pytest

import genrnn

torch = pytest.importorskip("torch")
nn = torch.nn


def load_example():
    """examples/python/from_pytorch.py, whose LessonModel and vocabulary are the lesson's own."""
    path = pathlib.Path(__file__).resolve().parents[2] / "examples" / "python" / "from_pytorch.py"
    spec = importlib.util.spec_from_file_location("from_pytorch_example", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


example = load_example()
LessonModel, LESSON_VOCAB = example.LessonModel, example.VOCAB


def load_twin():
    """tools/genrnn_model.py: the PyTorch twin, whose LayerNormLSTM is genrnn's lnlstm cell."""
    tools = pathlib.Path(__file__).resolve().parents[2] / "tools"
    sys.path.insert(0, str(tools))  # for its safetensors_io
    try:
        spec = importlib.util.spec_from_file_location("genrnn_model_twin", tools / "genrnn_model.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(tools))
    return module


twin = load_twin()


class EmbeddedModel(nn.Module):
    def __init__(self, rnn_class, vocab, embed, hidden, layers):
        super().__init__()
        self.embedding = nn.Embedding(vocab, embed)
        self.rnn = rnn_class(embed, hidden, layers, batch_first=True)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, ids, hidden=None):
        out, hidden = self.rnn(self.embedding(ids), hidden)
        return self.head(out), hidden


def torch_greedy(step, prompt_ids, n):
    """PyTorch's own loop: the prompt, then argmax token by token, feeding each back."""
    with torch.no_grad():
        logits, hidden = step(torch.tensor(prompt_ids), None)
        out = []
        for _ in range(n):
            token = int(torch.argmax(logits[-1]))
            out.append(token)
            logits, hidden = step(torch.tensor([token]), hidden)
    return out


@pytest.fixture()
def seeded():
    torch.manual_seed(int(np.random.randint(1 << 30)))


def test_the_lessons_model_moves_over_in_one_call_and_generates_pytorchs_greedy_text(seeded):
    lesson = LessonModel(len(LESSON_VOCAB))
    for p in lesson.parameters():  # larger weights than the initialisation: a less flat distribution
        p.data.mul_(4)
    model = genrnn.from_torch(lesson, LESSON_VOCAB)
    assert model.config == genrnn.Config("lstm", 1, 64, 0, len(LESSON_VOCAB), "char")
    assert model.generate("Abe", 60, temperature=0, device="cpu") == example.pytorch_greedy(lesson, "Abe", 60)


@pytest.mark.parametrize("rnn_class", [nn.LSTM, nn.GRU, nn.RNN, twin.LayerNormLSTM])
def test_an_embedded_stack_of_each_cell_generates_pytorchs_greedy_text(rnn_class, seeded):
    vocab = [chr(c) for c in range(ord("a"), ord("a") + 20)]
    torch_model = EmbeddedModel(rnn_class, len(vocab), 12, 24, 2)
    # Larger weights, for a less flat distribution; not the layer norms' gains: tripled, they make
    # the LayerNorm-LSTM chaotic (PyTorch's own float32 leaves its float64 by 0.5 after 40 steps,
    # and greedy text parts after ~40 tokens), while the normalisations undo the weights' scale.
    for name, p in torch_model.named_parameters():
        if ".ln_" not in name:
            p.data.mul_(3)
    model = genrnn.from_torch(torch_model, vocab)
    assert model.config.num_layers == 2 and model.config.embedding_dim == 12
    step = lambda ids, hidden: (lambda out: (out[0][0], out[1]))(torch_model(ids.unsqueeze(0), hidden))  # noqa: E731
    expected = torch_greedy(step, [0, 5, 7], 50)
    assert model.generate("afh", 50, temperature=0, device="cpu") == "".join(vocab[i] for i in expected)


def test_state_dict_is_torch_tensors_that_load_into_the_pytorch_module(text):
    model = genrnn.train(text, cell="gru", layers=2, hidden=16, embed=8, seq_len=20, batch=4, steps=5,
                         device="cpu")
    state = model.state_dict()
    assert all(isinstance(v, torch.Tensor) and v.dtype == torch.float32 for v in state.values())
    torch_model = EmbeddedModel(nn.GRU, model.config.vocab_size, 8, 16, 2)
    torch_model.load_state_dict(state, strict=True)
    step = lambda ids, hidden: (lambda out: (out[0][0], out[1]))(torch_model(ids.unsqueeze(0), hidden))  # noqa: E731
    ids = model.encode("the ")
    expected = torch_greedy(step, ids, 40)
    assert model.generate("the ", 40, temperature=0, device="cpu") == model.decode(expected)
    h = model.state("the ", device="cpu")
    with torch.no_grad():
        _, torch_h = torch_model(torch.tensor([ids]))
    np.testing.assert_allclose(h, torch_h.numpy(), atol=1e-5)


def test_modules_that_compute_something_else_are_refused():
    with pytest.raises(genrnn.Error, match="nonlinearity='relu'"):
        genrnn.from_torch(EmbeddedModel(lambda *a, **k: nn.RNN(*a, nonlinearity="relu", **k), 5, 4, 4, 1),
                          list("abcde"))
    bidirectional = EmbeddedModel(lambda *a, **k: nn.LSTM(*a, bidirectional=True, **k), 5, 4, 4, 1)
    with pytest.raises(genrnn.Error, match="reverse"):
        genrnn.from_torch(bidirectional, list("abcde"))
