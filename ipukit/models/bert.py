"""BERT (Devlin et al. 2019, "BERT: Pre-training of Deep Bidirectional Transformers for
Language Understanding", arXiv:1810.04805).

Sizes: BERT-Base L=12, H=768, A=12 ("110M" parameters); BERT-Large L=24, H=1024, A=16
("340M") (paper §3). Vocabulary 30,522 WordPiece tokens, 512 positions, 2 token types,
feed-forward 4H: the ``config.json`` of HuggingFace ``bert-base-uncased`` / ``bert-large-uncased``.

Counted exactly as HuggingFace ``BertModel`` (embeddings with word, position and token-type
tables and their LayerNorm; the encoder; the pooler): 109,482,240 parameters for
bert-base-uncased and 335,141,888 for bert-large-uncased, the figures
``BertModel.from_pretrained(...).num_parameters()`` reports. The paper's 110M / 340M are
rounded. ``pretraining_heads=True`` adds the masked-LM head (transform, LayerNorm, output
bias; its decoder reuses the word embeddings) and the next-sentence head, as
``BertForPreTraining``. ``predictions`` is how many positions of each sequence the masked-LM
head predicts: every position by default; BERT pre-training masks 15 % of the tokens and
predicts at most 20 per 128-token sequence (``max_predictions_per_seq=20``, the
google-research/bert README), and Graphcore's IPU implementation runs the head on those only.
"""
from __future__ import annotations

from dataclasses import replace

from . import layers as L
from .model import Model


def bert(layers=12, hidden=768, heads=12, seq=128, vocab=30522, intermediate=None,
         positions=512, token_types=2, pooler=True, pretraining_heads=False, name=None,
         predictions=None):
    """A BERT encoder over ``seq`` tokens per sample; ``intermediate`` defaults to 4 x hidden.

    ``pretraining_heads=True`` keeps the pooler whatever ``pooler`` says (the next-sentence
    head reads it).
    """
    for key, value in dict(layers=layers, hidden=hidden, heads=heads, seq=seq, vocab=vocab,
                           positions=positions, token_types=token_types).items():
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"bert: {key} must be a positive int, got {value!r}")
    if seq > positions:
        raise ValueError(f"bert: seq={seq} tokens but only {positions} position embeddings; "
                         f"use seq <= {positions} or raise positions")
    p_tokens = seq if predictions is None else predictions
    if not isinstance(p_tokens, int) or not 1 <= p_tokens <= seq:
        raise ValueError(f"bert: predictions is the masked positions the head predicts per "
                         f"sequence, an int in [1, seq={seq}]; got {predictions!r}")
    ffn = 4 * hidden if intermediate is None else intermediate
    if not isinstance(ffn, int) or ffn < 1:
        raise ValueError(f"bert: intermediate must be a positive int, got {intermediate!r}")
    h, s = hidden, seq
    x = s * h                                           # the hidden states of one sequence
    out = [L.embedding("embeddings", vocab, h, s, tables=3, extra_rows=positions + token_types),
           L.layernorm("embeddings.layernorm", h, s, inputs=x)]
    for i in range(layers):
        p = f"encoder.{i}."
        # the block input x is kept until the first residual add, its output until the second
        out += [L.linear(p + "attention.qkv", h, 3 * h, s),
                L.attention(p + "attention.core", h, heads, s, carried=x),
                L.linear(p + "attention.output", h, h, s, carried=x),
                L.layernorm(p + "attention.add_norm", h, s, residual=True),
                L.linear(p + "ffn.in", h, ffn, s),
                L.activation(p + "ffn.gelu", "gelu", s * ffn, L.GELU_FLOPS, carried=x),
                L.linear(p + "ffn.out", ffn, h, s, carried=x),
                L.layernorm(p + "ffn.add_norm", h, s, residual=True)]
    if pooler or pretraining_heads:
        # dense + tanh on the first ([CLS]) token
        dense = L.linear("pooler", h, h, 1, input_elements=x)
        out.append(replace(dense, flops=dense.flops + L.TANH_FLOPS * h, stored=2 * h))
    if pretraining_heads:
        m = p_tokens
        out += [L.linear("mlm.transform", h, h, m, carried=h, input_elements=m * h),
                L.activation("mlm.gelu", "gelu", m * h, L.GELU_FLOPS, carried=h),
                L.layernorm("mlm.layernorm", h, m, carried=h),
                L.tied_linear("mlm.decoder", h, vocab, m, "embeddings", carried=h),
                L.softmax_loss("mlm.loss", vocab, m, carried=h),
                L.linear("nsp", h, 2, 1, input_elements=h)]
    model_name = name or f"BERT (L={layers}, H={hidden}, A={heads})"
    return Model(model_name, out, sample=f"one {seq}-token sequence",
                 source="Devlin et al. 2019 §3; HuggingFace bert-*-uncased config.json",
                 config=(("layers", layers), ("hidden", hidden), ("heads", heads), ("seq", seq),
                         ("vocab", vocab), ("intermediate", ffn)))


def bert_base(seq=128, **kw):
    """BERT-Base: 12 layers, hidden 768, 12 heads (109,482,240 parameters as BertModel)."""
    return bert(12, 768, 12, seq=seq, name=kw.pop("name", "BERT-Base"), **kw)


def bert_large(seq=128, **kw):
    """BERT-Large: 24 layers, hidden 1024, 16 heads (335,141,888 parameters as BertModel)."""
    return bert(24, 1024, 16, seq=seq, name=kw.pop("name", "BERT-Large"), **kw)
