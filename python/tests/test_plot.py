"""Loss curves: python -m genrnn.plot on a real training log writes a valid PNG."""
import struct
import subprocess
import sys
import zlib

import pytest

import genrnn


def png_size(path):
    """(width, height) of a PNG whose signature and header chunk check out, else an assertion."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13
    header = data[16:29]
    (crc,) = struct.unpack(">I", data[29:33])
    assert zlib.crc32(kind + header) == crc, "IHDR checksum"
    assert b"IEND" in data[-12:]
    return struct.unpack(">II", header[:8])


@pytest.fixture(scope="module")
def logs(tmp_path_factory, text, gen_cuda):
    folder = tmp_path_factory.mktemp("logs")
    corpus = folder / "corpus.txt"
    corpus.write_text(text, encoding="utf-8")
    paths = []
    for hidden in (16, 48):
        log = folder / f"h{hidden}.csv"
        subprocess.run([gen_cuda, "train", "--data", str(corpus), "--out", str(folder / f"h{hidden}.safetensors"),
                        "--layers", "1", "--hidden", str(hidden), "--embed", "8", "--seq-len", "30", "--batch",
                        "8", "--steps", "60", "--eval-every", "15", "--lr", "0.01", "--device", "cpu",
                        "--log-csv", str(log)], check=True, capture_output=True)
        paths.append(log)
    return paths


def test_the_plot_command_writes_a_png_of_several_runs(logs, tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "curve.png"
    result = subprocess.run([sys.executable, "-m", "genrnn.plot", *map(str, logs), "-o", str(out), "--x", "tokens"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    width, height = png_size(out)
    assert width >= 400 and height >= 300


def test_plot_training_from_python(logs, tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "curve.png"
    genrnn.plot_training(logs[:1], out, labels=["h16"], title="one run")
    assert png_size(out)[0] > 0
    with pytest.raises(genrnn.Error, match="not a training log"):
        genrnn.plot_training([tmp_path / "curve.png"], tmp_path / "again.png")


def test_without_matplotlib_the_message_says_what_to_install(logs, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now raises ImportError
    with pytest.raises(genrnn.Error, match="pip install matplotlib"):
        genrnn.plot_training(logs, tmp_path / "curve.png")
