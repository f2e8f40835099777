#!/usr/bin/env python3
"""Train a byte-level BPE tokenizer and write it in Hugging Face `tokenizer.json` form.

Byte-level BPE as GPT-2 defines it: text is split with the GPT-2 pre-tokenizer regex, each piece is
mapped to bytes (shown as printable unicode), and merges are learned greedily by pair frequency.
Ties break on the smaller (left id, right id) so the result depends only on the corpus.
Pair counts are updated incrementally (pair -> words index), so 4k merges take seconds, not hours.

  python3 tools/train_tokenizer.py --corpus /tmp/edgespec-corpus/train.txt --vocab 4096 --out models/edgespec-tiny
"""
import argparse, collections, heapq, json, os
import regex

GPT2_SPLIT = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
SPECIALS = ["<unk>", "<s>", "</s>"]  # ids 0, 1, 2 as in Llama tokenizers

def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b); cs.append(256 + n); n += 1
    return dict(zip(bs, map(chr, cs)))

def train(text, vocab_size):
    counts = collections.Counter(regex.findall(GPT2_SPLIT, text))
    words = [list(w.encode("utf-8")) for w in counts]  # symbols are ints: bytes 0..255, merges 256..
    freqs = list(counts.values())
    pairs = collections.Counter()
    where = collections.defaultdict(set)
    for i, w in enumerate(words):
        for a, b in zip(w, w[1:]):
            pairs[(a, b)] += freqs[i]
            where[(a, b)].add(i)
    heap = [(-c, p) for p, c in pairs.items()]
    heapq.heapify(heap)
    merges = []
    n_merges = vocab_size - 256 - len(SPECIALS)
    while len(merges) < n_merges and heap:
        negc, pair = heapq.heappop(heap)
        if pairs.get(pair, 0) != -negc or -negc <= 0:
            continue  # stale heap entry
        new = 256 + len(merges)
        merges.append(pair)
        changed = collections.Counter()
        for i in list(where[pair]):
            w, f = words[i], freqs[i]
            for a, b in zip(w, w[1:]):
                changed[(a, b)] -= f
            out, j = [], 0
            while j < len(w):
                if j + 1 < len(w) and w[j] == pair[0] and w[j + 1] == pair[1]:
                    out.append(new); j += 2
                else:
                    out.append(w[j]); j += 1
            words[i] = out
            for a, b in zip(out, out[1:]):
                changed[(a, b)] += f
                where[(a, b)].add(i)
        del where[pair]
        for p, d in changed.items():
            if d:
                pairs[p] += d
                heapq.heappush(heap, (-pairs[p], p))
        pairs.pop(pair, None)
    return merges

def write(merges, out_dir):
    b2u = bytes_to_unicode()
    names = [b2u[b] for b in range(256)]
    for a, b in merges:
        names.append(names[a] + names[b])
    vocab = {tok: i for i, tok in enumerate(SPECIALS)}
    for i, name in enumerate(names):
        vocab[name] = len(SPECIALS) + i
    added = [{"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": True} for i, t in enumerate(SPECIALS)]
    tok = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": "<s>", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}},
        },
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False,
                  "ignore_merges": False, "vocab": vocab,
                  "merges": [f"{names[a]} {names[b]}" for a, b in merges]},
    }
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tok, f, ensure_ascii=False, indent=1)
    return len(vocab)

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--vocab", type=int, default=4096)
    ap.add_argument("--max-chars", type=int, default=6_000_000)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    text = open(args.corpus, encoding="utf-8").read()[: args.max_chars].replace("\0", "\n")
    merges = train(text, args.vocab)
    n = write(merges, args.out)
    print(f"vocab {n} ({len(merges)} merges) -> {args.out}/tokenizer.json")

if __name__ == "__main__":
    main()
