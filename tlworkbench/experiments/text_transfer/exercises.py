"""Exercises of notebook 08, text transfer: why TF-IDF starves on few labels, and what domain
pretraining changed in the encoder."""

from __future__ import annotations

import re

import torch

from ...data import load_dataset, subsample
from ...text import embed_texts
from ...zoo import load_model
from .data import GENERAL

__all__ = ["EXERCISES", "vocabulary_coverage", "similarity", "closer_or_farther"]

_WORD = re.compile(r"(?u)\b\w\w+\b")  # scikit-learn's TfidfVectorizer token pattern


def vocabulary_coverage(per_class: int = 10, seed: int = 0) -> float:
    """The share of the distinct words of the fortunes test set that occur in ``per_class``
    training fortunes per class (drawn with ``seed``): the words a TF-IDF model can read."""
    train = subsample(load_dataset(GENERAL, split="train"), per_class=per_class, seed=seed)
    test = load_dataset(GENERAL, split="test")
    seen = {w for t in train.texts for w in _WORD.findall(t.lower())}
    words = {w for t in test.texts for w in _WORD.findall(t.lower())}
    return round(len(words & seen) / len(words), 3)


def similarity(encoder: str, a: str, b: str) -> float:
    """Cosine similarity of the embeddings of ``a`` and ``b`` by ``encoder`` (``"minilm"`` or ``"minilm_sre"``)."""
    emb = embed_texts(load_model(encoder, num_classes=2), [a, b]).features
    return float(torch.nn.functional.cosine_similarity(emb[:1], emb[1:]).item())


def closer_or_farther(a: str = "the pod keeps crashing", b: str = "CrashLoopBackOff") -> str:
    """``"closer"`` when the SRE MiniLM puts ``a`` and ``b`` closer than the generic MiniLM does."""
    return "closer" if similarity("minilm_sre", a, b) > similarity("minilm", a, b) else "farther"


EXERCISES = [
    {
        "key": "vocabulary_coverage",
        "prompt": "TF-IDF can only weigh words it saw in training. Draw 10 training fortunes per class "
                  "(`tlw.subsample(train, per_class=10, seed=0)`) and compute the share of the distinct words of "
                  "the test fortunes (lower case, words of two or more letters) that occur in those training "
                  "texts. Predict it first, then pass the share (three decimals).",
        "solution": lambda: vocabulary_coverage(10, 0),
        "tolerance": 0.005,
        "hint": "collect set(re.findall(r'\\b\\w\\w+\\b', text.lower())) over the training texts and over the test "
                "texts, then divide the size of their intersection by the size of the test set's words",
        "explain": lambda right: f"{1 - right:.0%} of the test words never occur in the training texts: TF-IDF has "
                                 "nothing to weigh them with, while MiniLM maps unseen words near the words it learned "
                                 "from a billion sentence pairs.",
        "wrong": 0.9,
    },
    {
        "key": "closer_or_farther",
        "prompt": "Embed 'the pod keeps crashing' and 'CrashLoopBackOff' (Kubernetes' name for that state) with "
                  "the generic MiniLM and with the SRE MiniLM (`tlw.text.embed_texts`), and compare their cosine "
                  "similarities. Does the SRE model put the two closer or farther? Pass 'closer' or 'farther'.",
        "solution": closer_or_farther,
        "hint": "torch.nn.functional.cosine_similarity(emb[:1], emb[1:]) for each encoder's two embeddings",
        "explain": "its further training on site-reliability pairs taught it this vocabulary; the tables above show "
                   "what that cost on other text.",
        "wrong": "farther",
    },
]
