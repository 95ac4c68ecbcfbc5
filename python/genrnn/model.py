"""genrnn.Model: load, save, generate, stream, evaluate, and to and from PyTorch state dicts."""
from __future__ import annotations

import os
import queue
import random
import threading
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Mapping, Optional, Tuple, Union

import numpy as np

from . import _genrnn
from ._genrnn import Error
from .torch_names import guess_prefix_map, infer_config, rename_keys

# A recurrent state, as PyTorch's own modules take and give it: (h, c) for an LSTM or LN-LSTM, h
# for a GRU or RNN; each float32 [layers, batch, hidden].
State = Union[np.ndarray, Tuple[np.ndarray, np.ndarray]]
PathOrText = Union[str, "os.PathLike[str]"]


@dataclass(frozen=True)
class Config:
    """A model's shape: Embedding(V, E) -> LSTM|GRU|RNN|LN-LSTM(E or V, H, L) -> Linear(H, V)."""

    cell: str            # "lstm", "gru", "rnn" or "lnlstm"
    num_layers: int
    hidden_size: int
    embedding_dim: int   # 0: one-hot input, as in the original lesson
    vocab_size: int
    tokenizer: str       # "char" or "word"


def read_text(text_or_path: PathOrText) -> str:
    """A text given as itself or as a file.

    A path-like object is always a file. A str is a file when it names one; a one-line str that
    looks like a path (it has a folder separator, or ends in a file extension) but names no file
    is an error rather than a text to train on; any other str is the text itself.
    """
    if isinstance(text_or_path, os.PathLike) or (isinstance(text_or_path, str) and _names_a_file(text_or_path)):
        return _genrnn.read_corpus_file(os.fspath(text_or_path))
    if not isinstance(text_or_path, str):
        raise TypeError(f"expected a str or a path, not {type(text_or_path).__name__}")
    return text_or_path


def token_file_path(text_or_path: Any) -> Optional[str]:
    """The path, where `text_or_path` names a token file (genrnn.tokenize, gen_cuda tokenize); else None."""
    if isinstance(text_or_path, os.PathLike) or (isinstance(text_or_path, str) and _names_a_file(text_or_path)):
        path = os.fspath(text_or_path)
        if _genrnn.is_token_file(path):
            return path
    return None


def _names_a_file(text: str) -> bool:
    if "\n" in text or len(text) > 4096:
        return False
    if os.path.isfile(text):
        return True
    _, extension = os.path.splitext(text)
    return (os.sep in text or 1 < len(extension) <= 6) and " " not in text


def _state_arrays(state: Optional[State]) -> Tuple[Optional[np.ndarray], Optional[np.ndarray]]:
    if state is None:
        return None, None
    h, c = state if isinstance(state, tuple) else (state, None)
    as_float = lambda a: None if a is None else np.ascontiguousarray(np.asarray(a, dtype=np.float32))  # noqa: E731
    return as_float(h), as_float(c)


def _state_result(h: np.ndarray, c: Optional[np.ndarray]) -> State:
    return h if c is None else (h, c)


def _random_seed() -> int:
    return random.SystemRandom().getrandbits(64)


def set_given(options: Any, **values: Any) -> Any:
    """Sets the fields of a library options struct that were given (not None); the others keep the
    library's defaults, which live in its C++ headers alone."""
    for name, value in values.items():
        if value is not None:
            setattr(options, name, value)
    return options


def engine_options(options: Any, device: Optional[str], engine: Optional[str], gpu: Optional[int],
                   **more: Any) -> Any:
    """Fills an EngineOptions (device, engine, gpu: the CUDA device number, None for the current one).

    gpu is checked here, as gen_cuda's --gpu checks it, since the library takes any negative as -1.
    """
    if gpu is not None and gpu < 0:
        raise Error(f"gpu must be a CUDA device number, 0 or more, or None for the current device; got {gpu}")
    return set_given(options, device=device, engine=engine, gpu=gpu, **more)


class Model:
    """A recurrent language model: its shape (`config`), vocabulary (`vocab`) and weights.

    Create one with `genrnn.train`, `Model.load` or `genrnn.from_torch`.
    """

    def __init__(self, native: _genrnn.Model):
        self._native = native
        self._generators: Dict[Tuple[str, str, str, int, bool], _genrnn.Generator] = {}

    @classmethod
    def load(cls, path: PathOrText) -> "Model":
        """Read a safetensors checkpoint written by genrnn (train, save, gen_cuda or export_pytorch.py)."""
        return cls(_genrnn.Model.load(os.fspath(path)))

    def save(self, path: PathOrText) -> None:
        """Write the model as a safetensors checkpoint; an existing file is replaced only once it is complete."""
        self._native.save(os.fspath(path))

    @property
    def config(self) -> Config:
        """The model's shape."""
        n = self._native
        return Config(n.cell, n.num_layers, n.hidden_size, n.embedding_dim, n.vocab_size, n.tokenizer)

    @property
    def vocab(self) -> List[str]:
        """The tokens, in id order."""
        return self._native.vocab

    @property
    def num_parameters(self) -> int:
        """The number of weights."""
        return self._native.num_parameters

    def __repr__(self) -> str:
        c = self.config
        shape = f"embedding {c.embedding_dim}" if c.embedding_dim else "one-hot input"
        return (f"<genrnn.Model {c.cell} {c.num_layers}x{c.hidden_size}, {shape}, {c.tokenizer} vocabulary of "
                f"{c.vocab_size}, {self.num_parameters} parameters>")

    def encode(self, text: str, *, unknown: str = "error") -> List[int]:
        """Token ids of `text`; `unknown`: "error", "skip" or "unk" for text outside the vocabulary."""
        return self._native.encode(text, unknown)

    def decode(self, ids: List[int]) -> str:
        """The text of token ids."""
        return self._native.decode(list(ids))

    def generate(self, prompt: str, n: Optional[int] = None, *, temperature: Optional[float] = None,
                 top_k: Optional[int] = None, top_p: Optional[float] = None, seed: Optional[int] = None,
                 stop: Optional[str] = None, num_samples: int = 1, device: Optional[str] = None,
                 engine: Optional[str] = None, decoder: Optional[str] = None, gpu: Optional[int] = None,
                 initial_state: Optional[State] = None, unknown: str = "error", beam_width: int = 0,
                 length_penalty: float = 0.0) -> Union[str, List[str]]:
        """Generate `n` tokens after `prompt`; return the generated text (without the prompt).

        None, for n and the sampling and engine arguments, takes the library's default (gen_cuda
        sample's: 200 tokens, temperature 0.8, no top-k or top-p, device and engine "auto").
        temperature: divides the logits before the softmax; 0 takes the most likely token.
        top_k: sample from the k most likely tokens (0: all). top_p: from the smallest set of
        tokens holding probability top_p (1: all). seed: the same seed gives the same text on
        every engine (None: a random one). stop: a sample ends once its text contains it (kept).
        num_samples > 1: that many independent samples, generated as one batch, as a list.
        device: "auto" (a usable GPU, else the CPU), "cpu" or "cuda"; engine: "auto" or one of
        genrnn.engines(); decoder: a GPU engine's, "auto", "graph" or "persistent". gpu: the CUDA
        device a GPU engine runs on, as gen_cuda's --gpu (None: the current device, 0 unless
        changed; the CPU engine ignores it).
        initial_state: the state the prompt starts from instead of zeros, as `state()` returns it
        (its batch must be num_samples). unknown: what to do with prompt text outside the
        vocabulary, "error", "skip" or "unk". beam_width >= 1: beam search instead of sampling,
        deterministic (1: greedy), returning the num_samples best (at most beam_width), best first;
        length_penalty: its scores are log-probabilities over ((5 + tokens) / 6) ** length_penalty
        (GNMT's). Raises genrnn.Error on a bad argument.
        """
        texts = self._generate(prompt, n, temperature, top_k, top_p, seed, stop, num_samples, device, engine,
                               decoder, gpu, initial_state, unknown, None, beam_width, length_penalty)
        return texts[0] if num_samples == 1 else texts

    def generate_scored(self, prompt: str, n: Optional[int] = None, **kwargs: Any) -> List[Dict[str, Any]]:
        """generate()'s outputs, each with its token ids and log-probability under the model (T = 1).

        Takes generate()'s arguments; returns a list of {"text", "ids", "logprob", "score"} (score:
        a beam search's logprob over its length penalty, else the logprob): the samples in order,
        or with beam_width the n-best, best first.
        """
        arguments = dict(temperature=None, top_k=None, top_p=None, seed=None, stop=None, num_samples=1,
                         device=None, engine=None, decoder=None, gpu=None, initial_state=None, unknown="error",
                         beam_width=0, length_penalty=0.0)
        unexpected = sorted(kwargs.keys() - arguments.keys())
        if unexpected:
            raise TypeError(f"generate_scored() got unexpected arguments {unexpected}")
        arguments.update(kwargs)
        h, c = _state_arrays(arguments["initial_state"])
        generator = self._generator(arguments["device"], arguments["engine"], arguments["decoder"], arguments["gpu"])
        options = self._options(n, arguments)
        return [{"text": text, "ids": list(ids), "logprob": logprob, "score": score}
                for text, ids, logprob, score in generator.generate_scored(self._native, prompt, options, h, c)]

    def stream(self, prompt: str, n: Optional[int] = None, *, temperature: Optional[float] = None,
               top_k: Optional[int] = None, top_p: Optional[float] = None, seed: Optional[int] = None,
               stop: Optional[str] = None, device: Optional[str] = None, engine: Optional[str] = None,
               decoder: Optional[str] = None, gpu: Optional[int] = None, initial_state: Optional[State] = None,
               unknown: str = "error") -> Iterator[str]:
        """Yield the generated text piece by piece (one token each) as it is drawn.

        The arguments are generate()'s; the pieces join to the text generate() returns for them.
        Leaving the loop early stops the generation.
        """
        pieces: "queue.Queue[Tuple[str, Any]]" = queue.Queue(maxsize=1024)
        cancelled = threading.Event()

        class _Cancelled(Exception):
            pass

        def on_piece(_stream: int, piece: str) -> None:
            if cancelled.is_set():
                raise _Cancelled
            pieces.put(("piece", piece))

        def work() -> None:
            try:
                self._generate(prompt, n, temperature, top_k, top_p, seed, stop, 1, device, engine, decoder, gpu,
                               initial_state, unknown, on_piece)
                pieces.put(("end", None))
            except _Cancelled:
                pass
            except BaseException as e:  # handed to the consumer, raised there
                pieces.put(("error", e))

        worker = threading.Thread(target=work, name="genrnn-stream", daemon=True)
        worker.start()
        try:
            while True:
                kind, value = pieces.get()
                if kind == "piece":
                    yield value
                elif kind == "error":
                    raise value
                else:
                    return
        finally:
            cancelled.set()
            while worker.is_alive():  # let a blocked put() finish, so the worker sees the cancel
                try:
                    pieces.get(timeout=0.05)
                except queue.Empty:
                    pass
            worker.join()

    def state(self, text: str, *, initial_state: Optional[State] = None, device: Optional[str] = None,
              engine: Optional[str] = None, gpu: Optional[int] = None, unknown: str = "error") -> State:
        """The recurrent state after reading `text`: (h, c) for an (LN-)LSTM, h otherwise, each [layers, 1, hidden].

        Hand it to generate(initial_state=...) to continue from that text; `initial_state` is
        where reading starts (zeros when None). device, engine, gpu, unknown: as for generate().
        """
        h0, c0 = _state_arrays(initial_state)
        h, c = self._generator(device, engine, None, gpu).state_after(self._native, text, unknown, h0, c0)
        return _state_result(h, c)

    def evaluate(self, text: PathOrText, *, device: Optional[str] = None, engine: Optional[str] = None,
                 gpu: Optional[int] = None, unknown: str = "error") -> _genrnn.EvalResult:
        """Mean cross-entropy of a text (or a file, see genrnn.train), as one stream from a zero state.

        A token file (genrnn.tokenize) is memory-mapped and read a window at a time; its
        vocabulary must be the model's (genrnn.tokenize(..., model=this model) makes one of
        another text), and `unknown` does not apply to its ids.
        device, engine, gpu, unknown: as for generate(). Returns loss (nats per token),
        bits_per_token, perplexity, tokens (predicted: the text's tokens less one) and engine.
        """
        options = engine_options(_genrnn.EngineOptions(), device, engine, gpu)
        token_file = token_file_path(text)
        if token_file is not None:
            return _genrnn.evaluate_token_file(self._native, _genrnn.open_token_file(token_file), options)
        return _genrnn.evaluate(self._native, read_text(text), unknown, options)

    def state_dict(self) -> Dict[str, Any]:
        """The weights under PyTorch's names (embedding.weight, rnn.weight_ih_l0, ..., head.bias).

        torch tensors when torch can be imported, else numpy arrays; copies either way. They load
        into an nn.Embedding / nn.LSTM|GRU|RNN(batch_first=True) (lnlstm: tools/genrnn_model.py's
        LayerNormLSTM) / nn.Linear module with those submodule names (tools/genrnn_model.py's GenRNN).
        """
        c = self.config
        flat = self._native.parameters()  # a copy already: the tensors are views of it
        tensors = {name: flat[offset:offset + int(np.prod(shape))].reshape(shape)
                   for name, shape, offset in _genrnn.parameter_layout(c.cell, c.num_layers, c.hidden_size,
                                                                       c.embedding_dim, c.vocab_size, c.tokenizer)}
        try:
            import torch
        except ImportError:
            return tensors
        return {name: torch.from_numpy(value) for name, value in tensors.items()}

    def _generator(self, device: Optional[str], engine: Optional[str], decoder: Optional[str],
                   gpu: Optional[int]) -> _genrnn.Generator:
        """One engine set up per (device, engine, decoder, gpu), kept for the next call."""
        options = engine_options(_genrnn.EngineOptions(), device, engine, gpu, decoder=decoder)
        if os.environ.get("GENRNN_CUDA_GRAPHS") == "0":
            options.cuda_graphs = False
        key = (options.device, options.engine, options.decoder, options.gpu, options.cuda_graphs)
        if key not in self._generators:
            self._generators[key] = _genrnn.Generator(self._native, options)
        return self._generators[key]

    def _generate(self, prompt, n, temperature, top_k, top_p, seed, stop, num_samples, device, engine, decoder, gpu,
                  initial_state, unknown, on_piece, beam_width=0, length_penalty=0.0) -> List[str]:
        h, c = _state_arrays(initial_state)
        generator = self._generator(device, engine, decoder, gpu)
        options = self._options(n, dict(temperature=temperature, top_k=top_k, top_p=top_p, seed=seed, stop=stop,
                                        num_samples=num_samples, unknown=unknown, beam_width=beam_width,
                                        length_penalty=length_penalty))
        return generator.generate(self._native, prompt, options, h, c, on_piece)

    @staticmethod
    def _options(n, a) -> Any:
        options = set_given(_genrnn.GenerateOptions(), length=n, num_samples=a["num_samples"], stop=a["stop"],
                            unknown=a["unknown"], beam_width=a["beam_width"], length_penalty=a["length_penalty"])
        set_given(options.sampling, temperature=a["temperature"], top_k=a["top_k"], top_p=a["top_p"],
                  seed=_random_seed() if a["seed"] is None else a["seed"])
        return options


def from_torch(module_or_state_dict: Any, vocab: List[str], tokenizer: str = "char", *,
               rename: Optional[Mapping[str, str]] = None, cell: Optional[str] = None) -> Model:
    """A genrnn Model with the weights of a PyTorch model shaped like genrnn's.

    module_or_state_dict: an nn.Module (an optional nn.Embedding, an nn.LSTM / nn.GRU /
    nn.RNN(tanh) / tools/genrnn_model.py's LayerNormLSTM, an nn.Linear head), or its state_dict
    (torch tensors or numpy arrays).
    vocab: the tokens in id order (for the lesson: its letters plus "\\n"). Submodules named
    other than embedding / rnn / head are renamed, guessed from the tensor names (the lesson's
    lstm and fc) or by `rename` ({"lstm": "rnn", "fc": "head"}). The cell and the sizes are
    read off the tensor shapes; `cell`, when given, must agree. Raises genrnn.Error when the
    weights fit no genrnn model.
    """
    state_dict = _as_state_dict(module_or_state_dict)
    try:
        renamed = rename_keys(state_dict, dict(rename) if rename is not None else guess_prefix_map(state_dict))
        config = infer_config(renamed, tokenizer, cell)
    except ValueError as e:
        raise Error(str(e)) from None
    if len(vocab) != config["vocab_size"]:
        raise Error(f"the vocabulary has {len(vocab)} tokens; the weights are for {config['vocab_size']}")
    layout = _genrnn.parameter_layout(config["cell"], config["num_layers"], config["hidden_size"],
                                      config["embedding_dim"], config["vocab_size"], tokenizer)
    expected = {name: tuple(shape) for name, shape, _ in layout}
    missing, extra = sorted(expected.keys() - renamed.keys()), sorted(renamed.keys() - expected.keys())
    if missing or extra:
        raise Error(f"the tensors do not make a genrnn model: missing {missing}, unexpected {extra}")
    parts = []
    for name, shape, _ in layout:
        value = renamed[name]
        if tuple(value.shape) != tuple(shape):
            raise Error(f"tensor {name!r} has shape {list(value.shape)}; the model needs {list(shape)}")
        parts.append(value.reshape(-1))
    flat = np.ascontiguousarray(np.concatenate(parts), dtype=np.float32)
    return Model(_genrnn.Model.from_parts(config["cell"], config["num_layers"], config["hidden_size"],
                                          config["embedding_dim"], tokenizer, list(vocab), flat))


def _as_state_dict(obj: Any) -> Dict[str, np.ndarray]:
    """float32 numpy arrays by name, from a torch module, a torch state_dict or a dict of arrays."""
    if hasattr(obj, "state_dict") and callable(obj.state_dict):
        for sub in obj.modules():
            if type(sub).__name__ == "RNN" and getattr(sub, "nonlinearity", "tanh") != "tanh":
                raise Error(f"nn.RNN with nonlinearity={sub.nonlinearity!r}: genrnn's RNN is tanh")
        obj = obj.state_dict()
    if not isinstance(obj, Mapping):
        raise Error(f"expected a torch module or a state_dict, not {type(obj).__name__}")

    def to_numpy(value: Any) -> np.ndarray:
        if hasattr(value, "detach"):  # a torch tensor, on any device, of any float type
            value = value.detach().cpu().float().numpy()
        return np.asarray(value, dtype=np.float32)

    return {str(name): to_numpy(value) for name, value in obj.items()}
