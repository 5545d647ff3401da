"""GPT-2 (Radford et al. 2019, "Language Models are Unsupervised Multitask Learners").

Sizes (paper, Table 2): 12 / 24 / 36 / 48 layers of width 768 / 1024 / 1280 / 1600; the
HuggingFace ``gpt2`` and ``gpt2-xl`` ``config.json`` give 12 and 25 heads, a 50,257-token
vocabulary and 1,024 positions. The paper quotes 117M and 1542M parameters; counted exactly
as HuggingFace ``GPT2LMHeadModel`` (token and position embeddings, pre-LayerNorm blocks, a
final LayerNorm, an output head that reuses the token embedding) they are 124,439,808 and
1,557,611,200, the figures ``num_parameters()`` reports.
"""
from __future__ import annotations

from . import layers as L
from .model import Model


def gpt2(layers=48, hidden=1600, heads=25, seq=1024, vocab=50257, positions=1024, loss=True,
         name=None):
    """A GPT-2 decoder over ``seq`` tokens per sample (defaults: GPT-2 XL, full context).

    ``loss=True`` ends with the softmax cross-entropy over the vocabulary, as training does.
    """
    for key, value in dict(layers=layers, hidden=hidden, heads=heads, seq=seq, vocab=vocab,
                           positions=positions).items():
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"gpt2: {key} must be a positive int, got {value!r}")
    if seq > positions:
        raise ValueError(f"gpt2: seq={seq} tokens but only {positions} positions; "
                         f"use seq <= {positions}")
    h, s = hidden, seq
    x = s * h
    out = [L.embedding("embeddings", vocab, h, s, tables=2, extra_rows=positions)]
    for i in range(layers):
        p = f"h.{i}."
        # pre-LayerNorm block: the residual stream x is carried around each sub-block
        out += [L.layernorm(p + "ln_1", h, s, inputs=x),
                L.linear(p + "attn.c_attn", h, 3 * h, s, carried=x),
                L.attention(p + "attn.core", h, heads, s, carried=x),
                L.linear(p + "attn.c_proj", h, h, s, carried=x),
                L.add(p + "add_1", x),
                L.layernorm(p + "ln_2", h, s, inputs=x),
                L.linear(p + "mlp.c_fc", h, 4 * h, s, carried=x),
                L.activation(p + "mlp.gelu", "gelu", 4 * x, L.GELU_FLOPS, carried=x),
                L.linear(p + "mlp.c_proj", 4 * h, h, s, carried=x),
                L.add(p + "add_2", x)]
    out += [L.layernorm("ln_f", h, s, inputs=x),
            L.tied_linear("lm_head", h, vocab, s, "embeddings", bias=False)]
    if loss:
        out.append(L.softmax_loss("loss", vocab, s))
    return Model(name or f"GPT-2 (L={layers}, d={hidden}, heads={heads})", out,
                 sample=f"one {seq}-token sequence",
                 source="Radford et al. 2019 Table 2; HuggingFace gpt2 / gpt2-xl config.json",
                 config=(("layers", layers), ("hidden", hidden), ("heads", heads), ("seq", seq),
                         ("vocab", vocab)))


def gpt2_small(seq=1024, **kw):
    """GPT-2 small: 12 layers, width 768, 12 heads (124,439,808 parameters)."""
    return gpt2(12, 768, 12, seq=seq, name=kw.pop("name", "GPT-2 small"), **kw)


def gpt2_xl(seq=1024, **kw):
    """GPT-2 XL: 48 layers, width 1600, 25 heads (1,557,611,200 parameters)."""
    return gpt2(48, 1600, 25, seq=seq, name=kw.pop("name", "GPT-2 XL"), **kw)
