"""genrnn's model as a PyTorch module, and its safetensors checkpoint format.

A checkpoint holds exactly this module's state_dict (F32) plus two metadata strings:
"genrnn.config" (cell, num_layers, hidden_size, embedding_dim, vocab_size, tokenizer) and
"genrnn.vocab" (the JSON array of the vocab_size token strings in id order).
"""
import json

import torch
import torch.nn.functional as F
from torch import nn

from safetensors_io import read_safetensors, write_safetensors

LN_EPS = 1e-5


# haste's LayerNormLSTM, PyTorch's gate order.
class LayerNormLSTM(nn.Module):
    """A stacked layer-normalised LSTM, called as GenRNN calls nn.LSTM (batch_first=True).

    Per layer, with LN(v) = (v - mean(v)) / sqrt(var(v) + 1e-5) and no affine of its own:
      a = LN(W_ih x) * ln_ih_weight + LN(W_hh h) * ln_hh_weight + b_ih + b_hh   (over 4H)
      i, f, g, o = sigmoid, sigmoid, tanh, sigmoid of a's four H-blocks
      c' = f * c + i * g;   h' = o * tanh(LN(c') * ln_cell_weight + ln_cell_bias)   (over H)
    """

    PARAMETERS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "ln_ih_weight", "ln_hh_weight",
                  "ln_cell_weight", "ln_cell_bias")

    def __init__(self, input_size, hidden_size, num_layers=1, batch_first=True):
        super().__init__()
        if not batch_first:
            raise ValueError("LayerNormLSTM is batch_first only")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        gates = 4 * hidden_size
        for k in range(num_layers):
            shapes = ((gates, input_size if k == 0 else hidden_size), (gates, hidden_size), (gates,),
                      (gates,), (gates,), (gates,), (hidden_size,), (hidden_size,))
            for name, shape in zip(self.PARAMETERS, shapes):
                self.register_parameter(f"{name}_l{k}", nn.Parameter(torch.empty(shape)))
        self.reset_parameters()

    def reset_parameters(self):
        """nn.LSTM's uniform(-1/sqrt(H), 1/sqrt(H)) for the weights and biases (in nn.LSTM's order,
        so the same seed gives nn.LSTM's values); LN gains 1, ln_cell_bias 0."""
        bound = self.hidden_size ** -0.5
        with torch.no_grad():
            for name, p in self.named_parameters():
                if name.startswith("ln_cell_bias"):
                    p.zero_()
                elif name.startswith("ln_"):
                    p.fill_(1.0)
                else:
                    p.uniform_(-bound, bound)

    def forward(self, x, state=None):
        """x [B, T, in]; state None (zeros) or (h0, c0), each [L, B, H].

        Returns (out [B, T, H], (hT, cT) each [L, B, H])."""
        H = self.hidden_size
        if state is None:
            zeros = x.new_zeros(self.num_layers, x.shape[0], H)
            state = (zeros, zeros)
        h_n, c_n = [], []
        for k in range(self.num_layers):
            p = {name: getattr(self, f"{name}_l{k}") for name in self.PARAMETERS}
            # The input's half of every step at once: [B, T, 4H].
            wx = F.layer_norm(x @ p["weight_ih"].t(), (4 * H,), eps=LN_EPS) * p["ln_ih_weight"]
            h, c = state[0][k], state[1][k]
            outputs = []
            for t in range(x.shape[1]):
                wh = F.layer_norm(h @ p["weight_hh"].t(), (4 * H,), eps=LN_EPS) * p["ln_hh_weight"]
                i, f, g, o = (wx[:, t] + wh + p["bias_ih"] + p["bias_hh"]).chunk(4, dim=1)
                c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
                c_norm = F.layer_norm(c, (H,), eps=LN_EPS) * p["ln_cell_weight"] + p["ln_cell_bias"]
                h = torch.sigmoid(o) * torch.tanh(c_norm)
                outputs.append(h)
            x = torch.stack(outputs, dim=1)
            h_n.append(h)
            c_n.append(c)
        return x, (torch.stack(h_n), torch.stack(c_n))


CELLS = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN, "lnlstm": LayerNormLSTM}
TOKENIZERS = ("char", "word")
CONFIG_KEY = "genrnn.config"
VOCAB_KEY = "genrnn.vocab"


class GenRNN(nn.Module):
    """Embedding (or one-hot when embedding_dim == 0) -> stacked LSTM/GRU/tanh RNN/LN-LSTM -> linear head."""

    def __init__(self, cell, vocab_size, hidden_size, num_layers, embedding_dim):
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"unknown cell {cell!r} (expected one of {', '.join(CELLS)})")
        self.cell = cell
        self.vocab_size = vocab_size
        self.embedding_dim = embedding_dim
        if embedding_dim > 0:
            self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.rnn = CELLS[cell](embedding_dim or vocab_size, hidden_size, num_layers, batch_first=True)
        self.head = nn.Linear(hidden_size, vocab_size)

    @classmethod
    def from_config(cls, config):
        """Build the (randomly initialised) module a genrnn config describes."""
        return cls(config["cell"], config["vocab_size"], config["hidden_size"],
                   config["num_layers"], config["embedding_dim"])

    def config(self, tokenizer):
        """The genrnn config of this module, keys in the checkpoint's order."""
        return {"cell": self.cell, "num_layers": self.rnn.num_layers,
                "hidden_size": self.rnn.hidden_size, "embedding_dim": self.embedding_dim,
                "vocab_size": self.vocab_size, "tokenizer": tokenizer}

    def forward(self, ids, state=None):
        """ids: int64 [B, T]; state: h0, or (h0, c0) for LSTM and LN-LSTM, each [L, B, H], or None (zeros).

        Returns (logits [B, T, V], final state in the same form as `state`).
        """
        if self.embedding_dim > 0:
            x = self.embedding(ids)
        else:
            x = F.one_hot(ids, self.vocab_size).to(self.head.weight.dtype)
        out, state = self.rnn(x, state)
        return self.head(out), state


def check_vocab(vocab, vocab_size, tokenizer):
    """Raise ValueError unless `vocab` is vocab_size distinct tokens valid for `tokenizer`."""
    if tokenizer not in TOKENIZERS:
        raise ValueError(f"unknown tokenizer {tokenizer!r} (expected char or word)")
    if len(vocab) != vocab_size:
        raise ValueError(f"vocabulary has {len(vocab)} tokens but the model's vocab_size is {vocab_size}")
    if not all(isinstance(t, str) and t for t in vocab):
        raise ValueError("every token must be a non-empty string")
    if len(set(vocab)) != len(vocab):
        raise ValueError("vocabulary has duplicate tokens")
    if tokenizer == "char" and any(len(t) != 1 for t in vocab):
        bad = next(t for t in vocab if len(t) != 1)
        raise ValueError(f"char vocabulary token {bad!r} is not exactly one code point")


def check_state_dict(config, state_dict):
    """Raise ValueError unless state_dict has exactly the tensor names and shapes of `config`."""
    expected = {k: tuple(v.shape) for k, v in GenRNN.from_config(config).state_dict().items()}
    actual = {k: tuple(v.shape) for k, v in state_dict.items()}
    missing, extra = sorted(expected.keys() - actual.keys()), sorted(actual.keys() - expected.keys())
    if missing or extra:
        raise ValueError(f"tensor names do not match the config: missing {missing}, unexpected {extra}")
    for name, shape in expected.items():
        if actual[name] != shape:
            raise ValueError(f"tensor {name!r} has shape {list(actual[name])}, "
                             f"the config needs {list(shape)}")


def save_checkpoint(model, vocab, tokenizer, path):
    """Write `model` (a GenRNN) with its vocabulary to a genrnn safetensors checkpoint."""
    config = model.config(tokenizer)
    check_vocab(vocab, config["vocab_size"], tokenizer)
    tensors = {k: v.detach().float() for k, v in model.state_dict().items()}
    metadata = {CONFIG_KEY: json.dumps(config, separators=(",", ":")),
                VOCAB_KEY: json.dumps(list(vocab), ensure_ascii=False)}
    write_safetensors(path, tensors, metadata)


def load_checkpoint(path):
    """Read a genrnn checkpoint; return (GenRNN in float32, vocab list, config dict)."""
    tensors, metadata = read_safetensors(path)
    if CONFIG_KEY not in metadata or VOCAB_KEY not in metadata:
        raise ValueError(f"{path}: metadata lacks {CONFIG_KEY!r} or {VOCAB_KEY!r}")
    config = json.loads(metadata[CONFIG_KEY])
    vocab = json.loads(metadata[VOCAB_KEY])
    check_vocab(vocab, config["vocab_size"], config["tokenizer"])
    check_state_dict(config, tensors)
    not_f32 = sorted(k for k, v in tensors.items() if v.dtype != "float32")
    if not_f32:
        raise ValueError(f"{path}: tensors {not_f32} are not F32")
    model = GenRNN.from_config(config)
    model.load_state_dict({k: torch.from_numpy(v) for k, v in tensors.items()})
    return model, vocab, config
