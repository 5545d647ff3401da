"""True-size models and whether they fit on IPUs: host-side analysis, no emulator run.

    from ipukit import models
    m = models.bert_large()
    print(m.describe())                                           # layers, parameters, FLOPs
    print(models.fit(m, ipukit.GC200, precision="fp16").describe())   # one IPU?
    print(models.pipeline(m, ipukit.GC200, training=True, precision="mixed").describe())
    print(models.compare(training=True, precision="mixed").describe())  # every model, GC2/GC200

Figures: ``ipukit.models.plot`` (imports matplotlib when used).
"""
from .bert import bert, bert_base, bert_large
from .compare import Comparison, compare
from .fit import FitReport, fit, segment_memory
from .gpt2 import gpt2, gpt2_small, gpt2_xl
from .layers import Layer
from .lstm import lstm_large, lstm_lm, lstm_medium
from .model import Model
from .pipeline import PipelinePlan, Stage, bubble, pipeline
from .resnet import resnet, resnet50, resnext50_32x4d
from .setup import (
    ALWAYS_LIVE_FRACTION,
    DEFAULT_MATMUL_PROPORTION,
    GRAPHCORE_BERT_LARGE,
    OPTIMIZERS,
    PRECISIONS,
    RESERVED_FRACTION,
    MemoryBreakdown,
    Precision,
    Setup,
)

# The models the course compares, by name (each builds its published configuration).
CATALOGUE = {
    "BERT-Base": bert_base,
    "BERT-Large": bert_large,
    "ResNet-50": resnet50,
    "ResNeXt-50 32x4d": resnext50_32x4d,
    "LSTM medium (2 x 650)": lstm_medium,
    "GPT-2 small": gpt2_small,
    "GPT-2 XL": gpt2_xl,
}


def catalogue() -> list:
    """One of each model in :data:`CATALOGUE`, built with its default sizes."""
    return [build() for build in CATALOGUE.values()]


__all__ = [
    "ALWAYS_LIVE_FRACTION", "DEFAULT_MATMUL_PROPORTION", "GRAPHCORE_BERT_LARGE",
    "CATALOGUE", "Comparison", "FitReport", "Layer", "MemoryBreakdown", "Model", "OPTIMIZERS",
    "PRECISIONS", "PipelinePlan", "Precision", "RESERVED_FRACTION", "Setup", "Stage", "bert",
    "bert_base", "bert_large", "bubble", "catalogue", "compare", "fit", "gpt2", "gpt2_small",
    "gpt2_xl", "lstm_large", "lstm_lm", "lstm_medium", "pipeline", "resnet", "resnet50",
    "resnext50_32x4d", "segment_memory",
]
