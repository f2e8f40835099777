#!/usr/bin/env python3
"""Collect the reference model's training text from permissively licensed files on a Debian box.

Sources (both ship on any machine that followed the recipe in models/README.md):
  * Python 3.11 standard library sources, Debian package libpython3.11-stdlib (PSF-2.0):
    /usr/lib/python3.11/**/*.py, test suites excluded (they are mostly fixtures, not prose or code).
  * TypeScript's bundled declaration files, npm package typescript (Apache-2.0):
    node_modules/typescript/lib/lib.*.d.ts (API docs in JSDoc prose + type declarations).

The split is by file: a file goes to the held-out set when the first byte of sha1(relative path) is
below 13 (~5%), so it never depends on file order or on the machine. Output: a manifest (one line
per file: split, sha256, bytes, source path) and train.txt / valid.txt with documents separated
by a NUL byte (the trainer maps it to the end-of-text token).

  python3 tools/build_corpus.py --out /tmp/edgespec-corpus
"""
import argparse, hashlib, os, sys

SOURCES = [
    ("python-stdlib", "/usr/lib/python3.11", (".py",), ("test", "tests", "idlelib", "lib2to3", "__pycache__", "site-packages", "dist-packages")),
    ("typescript-lib", "node_modules/typescript/lib", (".d.ts",), ()),
]

def files(root, exts, skip):
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in skip)
        for name in sorted(filenames):
            if name.endswith(exts) and (not name.endswith(".d.ts") or name.startswith("lib.")):
                yield os.path.join(dirpath, name)

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--max-file-bytes", type=int, default=400_000)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    rows, out = [], {"train": [], "valid": []}
    for name, root, exts, skip in SOURCES:
        if not os.path.isdir(root):
            sys.exit(f"missing corpus source {root} ({name}); see models/README.md")
        for path in files(root, exts, skip):
            data = open(path, "rb").read()
            if len(data) > args.max_file_bytes or len(data) < 200:
                continue
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                continue
            rel = os.path.relpath(path, root)
            split = "valid" if hashlib.sha1(f"{name}/{rel}".encode()).digest()[0] < 13 else "train"
            out[split].append(text.replace("\0", ""))
            rows.append(f"{split}\t{hashlib.sha256(data).hexdigest()}\t{len(data)}\t{name}:{rel}")
    for split, docs in out.items():
        with open(os.path.join(args.out, f"{split}.txt"), "w", encoding="utf-8") as f:
            f.write("\0".join(docs))
    with open(os.path.join(args.out, "manifest.tsv"), "w") as f:
        f.write("\n".join(rows) + "\n")
    for split, docs in out.items():
        print(f"{split}: {len(docs)} files, {sum(map(len, docs))/1e6:.1f}M chars")

if __name__ == "__main__":
    main()
