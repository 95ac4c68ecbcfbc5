"""genrnn.train: a model trained on a text, char-rnn style (truncated BPTT over parallel streams)."""
from __future__ import annotations

import os
import sys
import tempfile
from typing import Callable, Optional

from . import _genrnn
from ._genrnn import Error, TrainProgress
from .model import Model, PathOrText, engine_options, read_text, set_given, token_file_path


def train(text_or_path: PathOrText, *, tokenizer: Optional[str] = None, vocab_size: Optional[int] = None,
          cell: str = "lstm",
          layers: int = 2, hidden: int = 128, embed: int = 32, seq_len: Optional[int] = None,
          batch: Optional[int] = None, steps: Optional[int] = None, epochs: Optional[int] = None,
          time_limit: Optional[float] = None, lr: Optional[float] = None, clip: Optional[float] = None,
          dropout: Optional[float] = None, optimizer: Optional[str] = None, val_frac: Optional[float] = None,
          seed: Optional[int] = None, eval_every: Optional[int] = None, checkpoint_every: Optional[int] = None,
          out: Optional[PathOrText] = None, device: Optional[str] = None, engine: Optional[str] = None,
          gpu: Optional[int] = None, tf32: Optional[bool] = None, resume: bool = False,
          callback: Optional[Callable[[TrainProgress], None]] = None) -> Model:
    """Train a model on a text and return it; the defaults are gen_cuda train's (None: the library's).

    text_or_path: the text, or a file (a path-like object, or a str naming a file; see
    genrnn.model.read_text): a text file, or a token file (genrnn.tokenize), which is
    memory-mapped, read a window at a time, and brings its vocabulary (training on it gives the
    weights its text gives). tokenizer: "char" (code points, the default) or "word" (words and
    punctuation, at most vocab_size tokens with <unk>; default 10000); a token file's own unless given. cell: "lstm", "gru" or "rnn"; layers, hidden; embed:
    the embedding size, 0 for one-hot input (the lesson's model). The text becomes `batch`
    parallel streams read in windows of `seq_len` tokens, the state carried between windows.
    steps or epochs (default: one epoch); time_limit: seconds to train, ending after the step in
    which they run out, validated and saved as at the last step (steps or epochs still cap it);
    lr, clip (global gradient norm, 0: off), dropout between layers, optimizer "adam" or "sgd";
    the last val_frac of the text is held out and evaluated every eval_every steps. seed:
    initialisation and dropout.
    out: the checkpoint, saved every checkpoint_every steps and at the end (with its optimizer
    state in OUT.optim); None keeps no file. resume: continue the run saved in `out` (weights,
    optimizer, data position, RNG; the shape arguments are then the checkpoint's).
    device, engine, gpu: as for Model.generate; tf32 lets a GPU use TF32 tensor cores.
    callback(progress) runs after every step (progress.step, total_steps, train_loss,
    val_loss, tokens, tokens_per_second, ...); without one, a tqdm bar shows progress when tqdm
    is installed. Ctrl-C (KeyboardInterrupt) stops after the current step, keeps the checkpoint
    and returns the model trained so far. Raises genrnn.Error on a bad argument or file.

    Data parallel: under `mpirun -np N python script.py`, every process calls train with the
    same arguments; each trains an equal share of the `batch` streams (N must divide it) and
    the gradients are averaged every step, reaching one process's weights. Process 0 alone
    saves `out` and shows progress; callback runs in every process. Processes that disagree
    on the model, text or options raise genrnn.Error together, naming the difference.
    """
    first_process = _genrnn.process_place()["rank"] == 0  # under mpirun, process 0 speaks for all
    if steps is not None and epochs is not None:
        raise Error("give steps or epochs, not both")
    if resume and out is None:
        raise Error("resume needs out: the checkpoint of the run to continue")
    options = _genrnn.TrainOptions()
    engine_options(options.engine, device, engine, gpu, tf32=tf32)
    set_given(options.step, optimizer=optimizer, learning_rate=lr, clip=clip, dropout=dropout)
    set_given(options, seq_len=seq_len, batch=batch, steps=steps, epochs=epochs, time_limit=time_limit,
              val_frac=val_frac, seed=seed, eval_every=eval_every, checkpoint_every=checkpoint_every)
    if out is None:
        options.checkpoint_every = 0  # the checkpoint is a scratch file: only the one at the end
    options.loss_every = 1 if callback else 10
    token_file = token_file_path(text_or_path)

    def prepare():
        if token_file is None:
            data = read_text(text_or_path)
        else:
            data = _genrnn.open_token_file(token_file)
            if tokenizer is not None and tokenizer != data.tokenizer:
                raise Error(f"tokenizer={tokenizer!r} does not match token file '{token_file}', made with the "
                            f"{data.tokenizer} tokenizer; leave tokenizer out, or tokenize the text again")
            if vocab_size is not None and not resume and first_process:
                print(f"genrnn: note: ignoring vocab_size: token file {token_file} has its own vocabulary "
                      f"({len(data.vocab)} tokens)", file=sys.stderr)
        if resume:
            native = _genrnn.Model.load(options.out_path)
            if token_file is not None:
                _genrnn.require_vocabulary(data, native, f"that of checkpoint '{options.out_path}'")
        elif token_file is not None:
            native = _genrnn.Model.for_token_file(data, cell, layers, hidden, embed, options.seed)
        else:
            native = _genrnn.Model.for_text(data, cell, layers, hidden, embed, tokenizer or "char",
                                            10000 if vocab_size is None else vocab_size, options.seed)
        return data, native

    with tempfile.TemporaryDirectory(prefix="genrnn-train-") as scratch:
        options.out_path = os.fspath(out) if out is not None else os.path.join(scratch, "model.safetensors")
        data, native = _together(prepare)
        run = _genrnn.Training(native, data, options, resume)
        for note in run.notes:
            print(f"genrnn: note: {note}", file=sys.stderr)
        bar = _progress_bar(run) if callback is None and first_process else None
        try:
            run.run(callback if bar is None else bar.report)
        except KeyboardInterrupt:
            if first_process:
                kept = (f"checkpoint saved to {options.out_path}" if out is not None
                        else "no checkpoint kept (out=None)")
                print(f"genrnn: training interrupted at step {run.step} of {run.total_steps}; {kept}; "
                      "returning the model trained so far", file=sys.stderr)
        finally:
            if bar is not None:
                bar.close()
        return Model(run.model())


def _together(work):
    """work() in every process of a data-parallel run: where it raises in any of them, every one
    raises genrnn.Error, so that none waits for the others forever; alone, as work() raises."""
    if _genrnn.process_place()["size"] == 1:
        return work()
    try:
        result, message = work(), ""
    except Exception as error:  # noqa: BLE001 - whatever it is, the other processes must hear of it
        result, message = None, str(error) or type(error).__name__
    _genrnn.share_failure(message)
    return result


class _TqdmReport:
    """A tqdm bar fed by the training callback: steps, loss, validation loss."""

    def __init__(self, tqdm, run):
        self._bar = tqdm(total=run.total_steps, initial=run.step, unit="step", desc=f"train ({run.engine_name})")

    def report(self, progress: TrainProgress) -> None:
        self._bar.update(progress.step - self._bar.n)
        if progress.loss_read or progress.evaluated:
            postfix = {"loss": f"{progress.train_loss:.4f}"}
            if progress.val_loss >= 0:
                postfix["val"] = f"{progress.val_loss:.4f}"
            self._bar.set_postfix(postfix, refresh=False)

    def close(self) -> None:
        self._bar.close()


def _progress_bar(run) -> Optional[_TqdmReport]:
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return _TqdmReport(tqdm, run)


def tokenize(text_path: PathOrText, out_path: PathOrText, *, tokenizer: Optional[str] = None,
             vocab_size: Optional[int] = None, model: Optional[Model] = None, unknown: Optional[str] = None,
             progress: Optional[Callable[[_genrnn.TokenizeProgress], None]] = None) -> _genrnn.TokenFileSummary:
    """Tokenize a text file once into a token file, which genrnn.train and Model.evaluate memory-map.

    The text is read in pieces (memory does not grow with it, apart from the vocabulary): a
    first pass counts the tokens for the vocabulary train would build from the whole text
    (tokenizer "char", the default, or "word"; vocab_size for words, default 10000), a second
    writes the ids, 2 bytes each where the vocabulary allows, else 4. model: use that model's
    vocabulary instead, in one pass (to evaluate it on another text, or train it further on
    one); unknown: then what to do with text outside it, "error", "skip" or "unk" (default:
    "unk" for words, "error" for characters, as training reads text). progress(p) is called after each piece read (p.current_pass,
    p.passes, p.bytes, p.total_bytes). out_path is written to a temporary file and renamed into
    place: a failure leaves it as it was. Returns the summary: tokens, tokenizer, vocab_size,
    id_width, text_bytes, file_bytes. Raises genrnn.Error on a bad argument or file (invalid
    UTF-8 is named by its byte offset in the file).
    """
    if model is not None and (tokenizer is not None or vocab_size is not None):
        raise Error("give tokenizer and vocab_size, or model (whose vocabulary is used), not both")
    return _genrnn.tokenize(os.fspath(text_path), os.fspath(out_path), tokenizer or "char",
                            10000 if vocab_size is None else vocab_size, None if model is None else model._native,
                            unknown, progress)
