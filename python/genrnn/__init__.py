"""genrnn: recurrent language models (LSTM, GRU, tanh RNN, LayerNorm-LSTM), char- or word-level.

Train on a text (or a token file made once by genrnn.tokenize, for corpora bigger than memory),
generate with temperature, top-k and top-p, evaluate, and move models to and
from PyTorch; the same C++ library and checkpoints as the gen_cuda command line.

    import genrnn
    model = genrnn.train("corpus.txt", cell="lstm", layers=1, hidden=64, embed=0, steps=500)
    print(model.generate("The ", 200, temperature=0.5, seed=1))
    model.save("model.safetensors")

Every failure raises genrnn.Error (a ValueError) with the library's one-line message.
"""
from . import _genrnn
from ._genrnn import (Error, EvalResult, TokenFileSummary, TrainProgress, build_has_mpi, cpu_threads, process_place,
                      set_cpu_threads)
from .model import Config, Model, State, from_torch, read_text
from .training import tokenize, train

__version__ = _genrnn.version()
__all__ = ["Config", "Error", "EvalResult", "Model", "State", "TokenFileSummary", "TrainProgress", "build_has_mpi",
           "cpu_threads", "engines", "from_torch", "plot_training", "process_place", "read_text", "set_cpu_threads",
           "tokenize", "train"]


def __getattr__(name):
    # genrnn.plot_training is imported when first used: `python -m genrnn.plot` must find
    # genrnn.plot not yet imported, and matplotlib stays unloaded until a plot is drawn.
    if name == "plot_training":
        from .plot import plot_training
        return plot_training
    raise AttributeError(f"module 'genrnn' has no attribute {name!r}")


def engines() -> list:
    """The engines, as dicts of the library's EngineInfo: name, description, device ("cpu" or "cuda"),
    dropout (how its training draws masks), decoders, cells (those it runs), limits (what it does not
    run, and why), in_this_build, why_not."""
    return _genrnn.engines()
