"""A model trained in PyTorch, moved to genrnn in one call, sampled by genrnn: the same greedy text.

    python examples/python/from_pytorch.py [--steps N]

The PyTorch side is the lesson's own code: an nn.LSTM of 64 over one-hot characters (sequence
first) and an nn.Linear head, trained with cross-entropy, and its greedy loop, one character at
a time. genrnn.from_torch renames its `lstm` and `fc` submodules and reads the shape off the
weights. Needs torch (pip install torch, or Debian's python3-torch).
"""
import argparse
import string

import torch
from torch import nn

import genrnn

VOCAB = list(string.ascii_letters + " .,;'-") + ["\n"]  # the lesson's all_letters, and an end of line
TEXT = ("The quick brown fox jumps over the lazy dog.\nA stitch in time saves nine.\n"
        "All that glitters is not gold.\nWhere there's smoke, there's fire.\n") * 20


class LessonModel(nn.Module):
    def __init__(self, n_letters, hidden_size=64):
        super().__init__()
        self.lstm = nn.LSTM(n_letters, hidden_size)
        self.fc = nn.Linear(hidden_size, n_letters)

    def forward(self, x, hidden=None):
        out, hidden = self.lstm(x, hidden)
        return self.fc(out), hidden


def one_hot(ids):
    return nn.functional.one_hot(torch.tensor(ids), len(VOCAB)).float().unsqueeze(1)  # [T, 1, V]


def pytorch_greedy(model, prompt, n):
    """The lesson's sampling loop at temperature 0: feed the prompt, then each argmax."""
    with torch.no_grad():
        logits, hidden = model(one_hot([VOCAB.index(c) for c in prompt]))
        out = ""
        for _ in range(n):
            index = int(torch.argmax(logits[-1, 0]))
            out += VOCAB[index]
            logits, hidden = model(one_hot([index]), hidden)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=300)
    args = parser.parse_args()
    torch.manual_seed(0)
    model = LessonModel(len(VOCAB))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    ids = [VOCAB.index(c) for c in TEXT]
    for step in range(args.steps):
        start = (step * 37) % (len(ids) - 65)
        window = ids[start:start + 65]
        logits, _ = model(one_hot(window[:-1]))
        loss = nn.functional.cross_entropy(logits[:, 0], torch.tensor(window[1:]))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    print(f"PyTorch: trained {args.steps} steps, last loss {loss.item():.3f}")

    moved = genrnn.from_torch(model, VOCAB)  # lstm -> rnn, fc -> head, shape from the weights
    print(moved)
    expected = pytorch_greedy(model, "The ", 150)
    generated = moved.generate("The ", 150, temperature=0)
    print("PyTorch greedy:", repr("The " + expected))
    print("genrnn greedy: ", repr("The " + generated))
    print("the same text" if generated == expected else "the texts differ")
    print("genrnn at T=0.8:", repr("The " + moved.generate("The ", 150, temperature=0.8, seed=1)))
    return 0 if generated == expected else 1


if __name__ == "__main__":
    raise SystemExit(main())
