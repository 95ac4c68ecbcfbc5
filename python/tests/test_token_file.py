"""Token files: genrnn.tokenize, then train and evaluate on the file, memory-mapped, to exactly its text's numbers."""
import numpy as np
import pytest

import genrnn
from conftest import cli_error, structured_text


def flat(model):
    return np.concatenate([np.asarray(v).reshape(-1) for v in model.state_dict().values()])


SHORT = dict(layers=1, hidden=24, embed=8, seq_len=30, batch=6, lr=0.01, device="cpu", seed=9)


@pytest.fixture
def corpus(tmp_path):
    text = structured_text(8000, 4) + "don't stop: rock'n'roll, 深度学习 😀\n"
    path = tmp_path / "corpus.txt"
    path.write_text(text, encoding="utf-8")
    return text, path


@pytest.mark.parametrize("tokenizer", ["char", "word"])
def test_a_token_file_trains_to_exactly_the_weights_of_its_text(corpus, tmp_path, tokenizer):
    text, path = corpus
    tokens = tmp_path / "corpus.tokens"
    summary = genrnn.tokenize(path, tokens, tokenizer=tokenizer, vocab_size=30)
    from_text = genrnn.train(text, steps=6, tokenizer=tokenizer, vocab_size=30, **SHORT)
    assert summary.tokens == len(from_text.encode(text, unknown="unk" if tokenizer == "word" else "error"))
    assert (summary.tokenizer, summary.vocab_size, summary.id_width) == (tokenizer, len(from_text.vocab), 2)
    assert summary.text_bytes == len(text.encode("utf-8")) and summary.file_bytes == tokens.stat().st_size
    for given in (tokens, str(tokens)):
        from_file = genrnn.train(given, steps=6, **SHORT)
        assert from_file.vocab == from_text.vocab
        assert np.array_equal(flat(from_file), flat(from_text))


def test_evaluate_on_a_token_file_is_evaluate_on_its_text(corpus, tmp_path):
    text, path = corpus
    model = genrnn.train(text, steps=4, **SHORT)
    tokens = tmp_path / "corpus.tokens"
    genrnn.tokenize(path, tokens)
    on_file, on_text = model.evaluate(tokens, device="cpu"), model.evaluate(text, device="cpu")
    assert (on_file.loss, on_file.tokens) == (on_text.loss, on_text.tokens)


def test_another_text_with_the_models_vocabulary(corpus, tmp_path):
    text, _ = corpus
    model = genrnn.train(text, steps=4, tokenizer="word", vocab_size=20, **SHORT)
    other = tmp_path / "other.txt"
    other.write_text("the cat sat on the log. birds fly.\n", encoding="utf-8")
    tokens = tmp_path / "other.tokens"
    summary = genrnn.tokenize(other, tokens, model=model)
    assert summary.vocab_size == len(model.vocab)
    assert model.evaluate(tokens, device="cpu").loss == model.evaluate(other, device="cpu", unknown="unk").loss
    genrnn.tokenize(other, tokens, model=model, unknown="skip")
    assert model.evaluate(tokens, device="cpu").loss == model.evaluate(other, device="cpu", unknown="skip").loss
    with pytest.raises(genrnn.Error, match="not both"):
        genrnn.tokenize(other, tokens, model=model, tokenizer="word")


def test_progress_and_a_failure_that_leaves_the_file_alone(corpus, tmp_path):
    _, path = corpus
    tokens = tmp_path / "corpus.tokens"
    seen = []
    genrnn.tokenize(path, tokens, progress=seen.append)
    assert [p.current_pass for p in seen][0] == 1 and seen[-1].current_pass == seen[-1].passes == 2
    assert seen[-1].bytes == seen[-1].total_bytes == path.stat().st_size
    before = tokens.read_bytes()
    bad = tmp_path / "latin1.txt"
    bad.write_bytes(b"the cafe\n" * 10 + b"caf\xe9 au lait")
    with pytest.raises(genrnn.Error, match=r"^data file '.*latin1\.txt': invalid UTF-8 at byte 93: truncated sequence$"):
        genrnn.tokenize(bad, tokens)
    assert tokens.read_bytes() == before
    with pytest.raises(genrnn.Error, match="is empty"):
        (tmp_path / "empty.txt").write_text("")
        genrnn.tokenize(tmp_path / "empty.txt", tmp_path / "empty.tokens")


def test_bad_token_files_raise_one_line_naming_the_file(corpus, tmp_path, gen_cuda):
    text, path = corpus
    tokens = tmp_path / "corpus.tokens"
    genrnn.tokenize(path, tokens)
    good = tokens.read_bytes()
    model = genrnn.train(text, steps=2, **SHORT)
    model.save(tmp_path / "model.safetensors")
    cases = {
        "truncated.tokens": (good[:-1], "is truncated"),
        "version.tokens": (good[:8] + b"\x05" + good[9:], "has format version 5"),
        "past.tokens": (good[:-2] + b"\xff\x7f", "has id 32767 at token"),
    }
    for name, (data, says) in cases.items():
        bad = tmp_path / name
        bad.write_bytes(data)
        named = f"token file '{bad}' {says}"
        for call in (lambda: genrnn.train(bad, steps=1, **SHORT), lambda: model.evaluate(bad, device="cpu")):
            with pytest.raises(genrnn.Error) as raised:
                call()
            assert str(raised.value).startswith(named) and "\n" not in str(raised.value), str(raised.value)
        assert cli_error(gen_cuda, "eval", "-m", str(tmp_path / "model.safetensors"), "--data", str(bad)).startswith(named)
    word_tokens = tmp_path / "words.tokens"
    genrnn.tokenize(path, word_tokens, tokenizer="word", vocab_size=20)
    with pytest.raises(genrnn.Error, match=r"has a word vocabulary of 20 tokens, not the model's"):
        model.evaluate(word_tokens, device="cpu")
    with pytest.raises(genrnn.Error, match="tokenizer='char' does not match token file"):
        genrnn.train(word_tokens, steps=1, tokenizer="char", **SHORT)


def test_resume_on_a_token_file_continues_exactly(corpus, tmp_path):
    text, path = corpus
    tokens = tmp_path / "corpus.tokens"
    genrnn.tokenize(path, tokens)
    whole = genrnn.train(text, steps=20, out=tmp_path / "whole.safetensors", **SHORT)
    out = tmp_path / "halves.safetensors"
    genrnn.train(tokens, steps=10, out=out, **SHORT)
    resumed = genrnn.train(tokens, steps=20, out=out, resume=True, **SHORT)
    assert np.array_equal(flat(resumed), flat(whole))
    word_tokens = tmp_path / "words.tokens"
    genrnn.tokenize(path, word_tokens, tokenizer="word", vocab_size=20)
    with pytest.raises(genrnn.Error, match=r"token file '.*words\.tokens' has a word vocabulary of 20 tokens, not that "
                                           r"of checkpoint '.*halves\.safetensors'"):
        genrnn.train(word_tokens, steps=30, out=out, resume=True, **SHORT)


def test_a_token_file_from_gen_cuda_is_the_same_file(corpus, tmp_path, gen_cuda):
    import subprocess
    _, path = corpus
    genrnn.tokenize(path, tmp_path / "py.tokens", tokenizer="word", vocab_size=25)
    subprocess.run([gen_cuda, "tokenize", "--data", str(path), "--out", str(tmp_path / "cli.tokens"), "--tokenizer",
                    "word", "--vocab-size", "25"], check=True, capture_output=True, timeout=120)
    assert (tmp_path / "py.tokens").read_bytes() == (tmp_path / "cli.tokens").read_bytes()
