#!/usr/bin/env python3
"""Random prompts tokenized by the two Python tokenizers our modes reproduce.

A long check, not a test: compare.ts then runs our tokenizer on the same
prompts. Needs the `regex` and `ftfy` packages, a checkout of openai/CLIP
(its clip/simple_tokenizer.py and bpe_simple_vocab_16e6.txt.gz) and the
reference pipeline's tokenizer.py (ai-edge-torch, examples/stable_diffusion).

  python3 scripts/tokenizer-vs-python/make-reference.py \
      --clip-repo ../CLIP --seed-tokenizer ../ai-edge-torch/.../tokenizer.py \
      --count 5000 --out /tmp/tokenizer-reference.json
  node_modules/.bin/vite-node scripts/tokenizer-vs-python/compare.ts /tmp/tokenizer-reference.json
"""

import argparse
import importlib.util
import json
import os
import random
import sys
import unicodedata

import ftfy

VOCAB_DIR = os.path.join("assets", "clip-tokenizer")

# Pieces that exercise each clean-up step and each pre-tokenizer rule.
PIECES = [
    "a", "B", " ", "  ", "\t", "\n", "\r\n", "1", "&", "&amp;", "&AMP;", "&amp", "&eacute",
    "&EACUTE;", "&#x41;", "&#65", "&#128;", "&notit;", "&amp;amp;", "&lt;", "<", ">", ";",
    "\u2019", "\u201c", "\u02bc", "\ufb01", "\u0149", "\uff21", "\uff1a", "\u3000", "\uff61",
    "\u0080", "\u0085", "\u0093", "\u2028", "\x1b[31m", "\x07", "\x00", "\x1c", "\ufeff",
    "\u206a", "\u00a0", "\u0301", "\u017f", "'s", "'\u017f", "\u0345", "\u0130", "\u03a3",
    "\u00df", "\u212a", "\u2126", "\U0001f600", "\u2764\ufe0f", "\u4e2d", "\u00e9",
    "<|startoftext|>", "<|endoftext|>", "<|\u017ftartoftext|>", "'re", "'LL", "don't",
    "\u00ad", "\u200b", "\u0660", "\u00bd",
]


def load_module(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def random_prompt(rng, words):
    kind = rng.randrange(3)
    parts = []
    for _ in range(rng.randint(1, 40 if kind == 1 else 12)):
        if kind == 0:
            parts.append(rng.choice(PIECES))
        elif kind == 1:
            parts.append(rng.choice(words) + (rng.choice(PIECES) if rng.random() < 0.3 else ""))
        else:
            cp = rng.randrange(0x3000 if rng.random() < 0.5 else 0x110000)
            parts.append(chr(0x41 if 0xD800 <= cp <= 0xDFFF else cp))
    return "".join(parts)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clip-repo", required=True)
    ap.add_argument("--seed-tokenizer", required=True)
    ap.add_argument("--count", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    # Load simple_tokenizer.py on its own: clip/__init__.py would import torch.
    clip_dir = os.path.join(args.clip_repo, "clip")
    openai = load_module("simple_tokenizer", os.path.join(clip_dir, "simple_tokenizer.py")).SimpleTokenizer(
        os.path.join(clip_dir, "bpe_simple_vocab_16e6.txt.gz"))
    seed = load_module("seed_tokenizer", args.seed_tokenizer).Tokenizer(VOCAB_DIR)

    with open(os.path.join(VOCAB_DIR, "vocab.json"), encoding="utf-8") as f:
        if json.load(f) != openai.encoder:
            sys.exit(f"{VOCAB_DIR}/vocab.json differs from the vocabulary OpenAI builds")
    byte_decoder = {c: b for b, c in openai.byte_encoder.items()}
    words = [bytes(byte_decoder[c] for c in w.replace("</w>", "")).decode("utf-8", "replace")
             + (" " if w.endswith("</w>") else "") for w in openai.encoder if not w.startswith("<|")]

    rng = random.Random(args.seed)
    cases = []
    for _ in range(args.count):
        text = random_prompt(rng, words)
        case = {
            "text": text,
            "hf_bpe": openai.encode(text),
            # What our hf mode cannot match: ftfy's mojibake repair changed the
            # text, or a character is newer than this Python's Unicode data.
            "encoding_repair": ftfy.fix_text(text) != ftfy.fix_text(text, fix_encoding=False),
            "newer_unicode": any(unicodedata.category(c) == "Cn" for c in text),
            "seed_ids77": seed.encode(text),
        }
        cases.append(case)
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump({"unicode": unicodedata.unidata_version, "cases": cases}, f)
    print(f"wrote {len(cases)} prompts to {args.out} (Python Unicode {unicodedata.unidata_version})")


if __name__ == "__main__":
    main()
