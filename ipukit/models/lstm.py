"""An LSTM language model: the word-level Penn Treebank models of Zaremba, Sutskever and
Vinyals 2014 ("Recurrent Neural Network Regularization", arXiv:1409.2329, §4.1).

Their "medium" model has 2 layers of 650 units, the "large" one 2 layers of 1500 units,
both unrolled for 35 steps over a 10,000-word vocabulary, with word embeddings as wide as
the hidden state and one bias per gate. Merity et al. 2018 ("Regularizing and Optimizing
LSTM Language Models", arXiv:1708.02182, Table 1) list them at 20M and 66M parameters.
One sample is one 35-token window.
"""
from __future__ import annotations

from . import layers as L
from .model import Model


def lstm_lm(vocab=10000, hidden=650, layers=2, steps=35, embed=None, biases=1, name=None):
    """Embedding -> ``layers`` LSTM layers -> a linear decoder onto the vocabulary -> loss.

    ``embed`` defaults to ``hidden`` (Zaremba et al.); ``biases=2`` matches PyTorch's
    ``nn.LSTM`` (separate input and hidden biases).
    """
    for key, value in dict(vocab=vocab, hidden=hidden, layers=layers, steps=steps).items():
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"lstm_lm: {key} must be a positive int, got {value!r}")
    embed = hidden if embed is None else embed
    out = [L.embedding("embedding", vocab, embed, steps)]
    size = embed
    for i in range(layers):
        out.append(L.lstm(f"lstm.{i}", size, hidden, steps, biases=biases))
        size = hidden
    out += [L.linear("decoder", hidden, vocab, steps), L.softmax_loss("loss", vocab, steps)]
    return Model(name or f"LSTM LM ({layers} x {hidden})", out,
                 sample=f"one {steps}-token window",
                 source="Zaremba et al. 2014 §4.1; Merity et al. 2018 Table 1",
                 config=(("vocab", vocab), ("hidden", hidden), ("layers", layers),
                         ("steps", steps), ("embed", embed)))


def lstm_medium(steps=35):
    """Zaremba et al.'s medium PTB model: 2 x 650 units (about 20M parameters)."""
    return lstm_lm(hidden=650, steps=steps, name="LSTM medium (2 x 650)")


def lstm_large(steps=35):
    """Zaremba et al.'s large PTB model: 2 x 1500 units (about 66M parameters)."""
    return lstm_lm(hidden=1500, steps=steps, name="LSTM large (2 x 1500)")
