#!/usr/bin/python3
"""Export a PyTorch recurrent language model to a genrnn safetensors checkpoint.

The input is a state_dict saved with torch.save (or a whole pickled module, or a checkpoint
dict holding one under --key) of a model shaped like genrnn's: an optional nn.Embedding, an
nn.LSTM / nn.GRU / nn.RNN (tanh) or genrnn_model.LayerNormLSTM, and an nn.Linear head. V, H, L
and E are read off the tensor shapes; submodules named other than embedding / rnn / head are
renamed (guessed from the tensor names, or given with --map old=new).

Example, the lesson's char model (all_letters plus an end-of-line token):
  export_pytorch.py char_lstm.pt lesson.safetensors --map lstm=rnn fc=head \\
      --vocab-chars "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ .,;'-" --append-newline
"""
import argparse
import importlib.util
import json
import pathlib
import string
import sys

import torch
from torch import nn

from genrnn_model import CELLS, GenRNN, check_state_dict, check_vocab, save_checkpoint


def load_torch_names():
    """The Python package's renaming (python/genrnn/torch_names.py), without the package built."""
    path = pathlib.Path(__file__).resolve().parent.parent / "python" / "genrnn" / "torch_names.py"
    spec = importlib.util.spec_from_file_location("genrnn_torch_names", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


torch_names = load_torch_names()
guess_prefix_map, rename_keys, infer_config = (torch_names.guess_prefix_map, torch_names.rename_keys,
                                               torch_names.infer_config)

LESSON_ALPHABET = string.ascii_letters + " .,;'-"
LESSON_VOCAB = list(LESSON_ALPHABET) + ["\n"]
LESSON_PREFIX_MAP = {"lstm": "rnn", "fc": "head"}


class LessonModel(nn.Module):
    """The lesson's PyTorch model: one-hot input -> nn.LSTM(V, 64) -> nn.Linear(64, V)."""

    def __init__(self, n_letters, hidden_size=64):
        super().__init__()
        self.lstm = nn.LSTM(n_letters, hidden_size)
        self.fc = nn.Linear(hidden_size, n_letters)

    def forward(self, x, hidden=None):
        """x: one-hot [T, B, V], sequence first as in the lesson; returns (logits, hidden)."""
        out, hidden = self.lstm(x, hidden)
        return self.fc(out), hidden


def export_state_dict(state_dict, vocab, tokenizer, out, cell=None, prefix_map=None):
    """Rename, check and write `state_dict` as a genrnn checkpoint at `out`; return its config."""
    if prefix_map is None:
        prefix_map = guess_prefix_map(state_dict)
    renamed = rename_keys(state_dict, prefix_map)
    config = infer_config(renamed, tokenizer, cell)
    check_state_dict(config, renamed)
    check_vocab(vocab, config["vocab_size"], tokenizer)
    model = GenRNN.from_config(config)
    model.load_state_dict({k: torch.as_tensor(v).float() for k, v in renamed.items()})
    save_checkpoint(model, vocab, tokenizer, out)
    return config


def export_lesson(out, seed=0):
    """Build the lesson's model with seeded random weights, export it to `out`, return it."""
    torch.manual_seed(seed)
    lesson = LessonModel(len(LESSON_VOCAB))
    export_state_dict(lesson.state_dict(), LESSON_VOCAB, "char", out, prefix_map=LESSON_PREFIX_MAP)
    return lesson


def check_module(module):
    """Reject modules whose weights would load but compute something else (relu RNN)."""
    for sub in module.modules():
        if isinstance(sub, nn.RNN) and sub.nonlinearity != "tanh":
            raise ValueError(f"nn.RNN with nonlinearity={sub.nonlinearity!r}: genrnn's RNN is tanh")


def load_input(path, key=None):
    """The state_dict stored in `path`: a state_dict, a whole module, or a dict holding one."""
    try:
        obj = torch.load(path, map_location="cpu")
    except (AttributeError, ModuleNotFoundError) as e:
        raise ValueError(f"{path}: cannot unpickle the module's class ({e}); "
                         "save model.state_dict() instead") from None
    if key is not None:
        if not isinstance(obj, dict) or key not in obj:
            raise ValueError(f"{path}: no entry {key!r} in the saved object")
        obj = obj[key]
    if isinstance(obj, nn.Module):
        check_module(obj)
        obj = obj.state_dict()
    if not isinstance(obj, dict) or not all(torch.is_tensor(v) for v in obj.values()):
        raise ValueError(f"{path}: not a state_dict of tensors (for a checkpoint dict, name "
                         "the entry with --key)")
    return obj


def read_vocab(args):
    """The token list from --vocab (JSON array file) or --vocab-chars, plus --append-newline."""
    if args.vocab is not None:
        with open(args.vocab, encoding="utf-8") as f:
            vocab = json.load(f)
        if not isinstance(vocab, list):
            raise ValueError(f"{args.vocab}: expected a JSON array of token strings")
    else:
        vocab = list(args.vocab_chars)
    return vocab + ["\n"] if args.append_newline else vocab


def parse_map(items):
    """['old=new', ...] -> {old: new}."""
    pairs = [item.split("=", 1) for item in items]
    if any(len(p) != 2 or not all(p) for p in pairs):
        raise ValueError(f"--map takes old=new pairs, got {items}")
    return dict(pairs)


def build_parser():
    parser = argparse.ArgumentParser(
        description="Export a PyTorch LSTM/GRU/RNN language model to a genrnn checkpoint.",
        epilog=__doc__.split("\n\n", 2)[2], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("input", nargs="?", help="file saved with torch.save (state_dict or module)")
    parser.add_argument("output", nargs="?", help="genrnn checkpoint to write (.safetensors)")
    parser.add_argument("--cell", choices=list(CELLS),
                        help="expected cell type (default: inferred from the weights)")
    parser.add_argument("--tokenizer", choices=["char", "word"], default="char")
    vocab = parser.add_mutually_exclusive_group()
    vocab.add_argument("--vocab", metavar="FILE", help="JSON array of the token strings in id order")
    vocab.add_argument("--vocab-chars", metavar="STRING",
                       help="char vocabulary: token i is the i-th character of STRING")
    parser.add_argument("--append-newline", action="store_true",
                        help='append "\\n" as the last token (the lesson\'s end-of-line token)')
    parser.add_argument("--map", nargs="+", default=None, metavar="OLD=NEW",
                        help="rename submodules, e.g. --map lstm=rnn fc=head (default: guessed)")
    parser.add_argument("--key", help="entry of a checkpoint dict that holds the state_dict")
    parser.add_argument("--demo-lesson", metavar="OUT",
                        help="export the lesson's model (seeded random weights) to OUT and exit")
    parser.add_argument("--seed", type=int, default=0, help="seed for --demo-lesson (default 0)")
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.demo_lesson:
            export_lesson(args.demo_lesson, args.seed)
            print(f"wrote {args.demo_lesson}: the lesson's LSTM, V={len(LESSON_VOCAB)}, H=64")
            return 0
        if not args.input or not args.output:
            parser.error("INPUT and OUTPUT are required (or use --demo-lesson OUT)")
        if args.vocab is None and args.vocab_chars is None:
            parser.error("give the vocabulary with --vocab FILE or --vocab-chars STRING")
        prefix_map = parse_map(args.map) if args.map else None
        config = export_state_dict(load_input(args.input, args.key), read_vocab(args),
                                   args.tokenizer, args.output, args.cell, prefix_map)
    except (ValueError, OSError) as e:
        print(f"export_pytorch: error: {e}", file=sys.stderr)
        return 1
    print(f"wrote {args.output}: {json.dumps(config)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
