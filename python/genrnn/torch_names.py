"""PyTorch's tensor names for a genrnn model, and the renaming that brings other modules' over.

genrnn's tensors are those of `embedding` (nn.Embedding, absent for one-hot input), `rnn`
(nn.LSTM / nn.GRU / nn.RNN, or tools/genrnn_model.py's LayerNormLSTM) and `head` (nn.Linear).
A module that names its submodules otherwise (the lesson's `lstm` and `fc`) is renamed, by a map
or by a guess from the tensor names each submodule owns. Needs neither torch nor the compiled
module: tools/export_pytorch.py loads this file by path, and genrnn.from_torch imports it.
"""

GATES_TO_CELL = {4: "lstm", 3: "gru", 1: "rnn"}
LAYER_NORM_KEY = "rnn.ln_cell_weight_l0"  # an LSTM's tensors with it are a layer-normalised LSTM


def guess_prefix_map(state_dict):
    """Map each submodule prefix to embedding / rnn / head by the tensor names it owns."""
    suffixes = {}
    for key in state_dict:
        prefix, _, suffix = key.rpartition(".")
        suffixes.setdefault(prefix, set()).add(suffix)
    roles = {}
    for prefix, names in suffixes.items():
        if "weight_ih_l0" in names:
            roles.setdefault("rnn", []).append(prefix)
        elif names == {"weight"}:
            roles.setdefault("embedding", []).append(prefix)
        elif names == {"weight", "bias"}:
            roles.setdefault("head", []).append(prefix)
    return {prefixes[0]: role for role, prefixes in roles.items() if len(prefixes) == 1}


def rename_keys(state_dict, prefix_map):
    """Rename keys whose submodule prefix is in prefix_map (old -> new)."""
    renamed = {}
    for key, value in state_dict.items():
        prefix, _, suffix = key.rpartition(".")
        new_key = f"{prefix_map.get(prefix, prefix)}.{suffix}" if prefix else key
        if new_key in renamed:
            raise ValueError(f"two tensors would both be named {new_key!r} after renaming")
        renamed[new_key] = value
    return renamed


def infer_config(state_dict, tokenizer, cell=None):
    """Read the genrnn config (cell, L, H, E, V) off the shapes of a renamed state_dict."""
    if "rnn.weight_hh_l0" not in state_dict or "head.weight" not in state_dict:
        raise ValueError("no rnn.weight_hh_l0 / head.weight tensors; tensor names are "
                         f"{sorted(state_dict)}; rename the submodules to embedding, rnn and head")
    shape = tuple(state_dict["rnn.weight_hh_l0"].shape)
    fits = len(shape) == 2 and shape[1] > 0 and shape[0] % shape[1] == 0
    inferred = GATES_TO_CELL.get(shape[0] // shape[1]) if fits else None
    if inferred == "lstm" and LAYER_NORM_KEY in state_dict:
        inferred = "lnlstm"
    if inferred is None:
        raise ValueError(f"rnn.weight_hh_l0 shape {list(shape)} fits no LSTM, GRU or RNN")
    if cell is not None and cell != inferred:
        raise ValueError(f"the cell asked for is {cell}, but the weights are those of a {inferred}")
    layers = 0
    while f"rnn.weight_ih_l{layers}" in state_dict:
        layers += 1
    embedding = state_dict.get("embedding.weight")
    return {"cell": inferred, "num_layers": layers, "hidden_size": shape[1],
            "embedding_dim": 0 if embedding is None else embedding.shape[1],
            "vocab_size": state_dict["head.weight"].shape[0], "tokenizer": tokenizer}
