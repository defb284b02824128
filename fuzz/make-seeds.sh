#!/bin/sh
# Seeds for the fuzz corpora (not committed): the shared vectors plus SMALL WSQ streams and
# ANSI/NIST files. Why small: every input that gets through the tables costs a full wavelet
# synthesis, and under cargo-fuzz's compare tracing an 832x768 decode takes ~0.5 s (1-2 exec/s);
# 64x64 to 200x150 images decode in milliseconds and reach the same code.
# Needs python3 with Pillow and a built `ridgeline` CLI (cargo build -p ridgeline-cli).
# Usage: fuzz/make-seeds.sh
set -eu
cd "$(dirname "$0")"
shared=../../shared
cli=${RIDGELINE:-../target/debug/ridgeline}
tmp=$(mktemp -d)
mkdir -p corpus/minutiae_record corpus/native_template corpus/wsq corpus/ansi_nist corpus/image_decode
# The checked-in encrypted gallery, sealed under the key sealed_gallery.rs uses.
mkdir -p corpus/sealed_gallery
cp ../crates/ridgeline/tests/data/gallery-sealed-v1/* corpus/sealed_gallery/
cp "$shared"/format-vectors/fingerprintio/*.dat "$shared"/format-vectors/sourceafis/iso-*.dat corpus/minutiae_record/
cp "$shared"/format-vectors/sourceafis/wsq-original.wsq corpus/wsq/
cp "$shared"/format-vectors/ansi-nist/valid1.1.an2 corpus/ansi_nist/
cp "$shared"/format-vectors/sourceafis/probe.png "$shared"/datasets/fvc2002/DB1_B/101_1.tif corpus/image_decode/
# Centre crops of FVC images (odd and even sizes), encoded by our WSQ encoder.
python3 - "$shared" "$tmp" <<'EOF'
import sys
from PIL import Image
shared, tmp = sys.argv[1], sys.argv[2]
crops = [("DB1_B", 64, 64), ("DB2_B", 96, 80), ("DB4_B", 128, 96), ("DB1_B", 65, 130), ("DB2_B", 200, 150)]
for k, (db, w, h) in enumerate(crops):
    im = Image.open(f"{shared}/datasets/fvc2002/{db}/10{k + 1}_1.tif").convert("L")
    x, y = (im.size[0] - w) // 2, (im.size[1] - h) // 2
    im.crop((x, y, x + w, y + h)).save(f"{tmp}/crop{k}_{w}x{h}.png")
EOF
for png in "$tmp"/crop*.png; do
  "$cli" convert "$png" "corpus/wsq/$(basename "$png" .png).wsq" --to wsq --dpi 500 > /dev/null
done
cp corpus/wsq/crop*.wsq corpus/image_decode/
# valid1.1.an2 with its 512x512 Type-4 image replaced by a small stream (Type-4 header: length
# at 0-3, width at 13-14, height at 15-16).
python3 - "$shared" corpus <<'EOF'
import sys
shared, corpus = sys.argv[1], sys.argv[2]
b = open(f"{shared}/format-vectors/ansi-nist/valid1.1.an2", "rb").read()
t1_end = b.index(b"\x1c") + 1
t2_end = b.index(b"\x1c", t1_end) + 1
head, t4 = b[:t2_end], b[t2_end:]
for name, w, h in [("crop0_64x64", 64, 64), ("crop1_96x80", 96, 80)]:
    wsq = open(f"{corpus}/wsq/{name}.wsq", "rb").read()
    hdr = bytearray(t4[:18])
    hdr[0:4] = (18 + len(wsq)).to_bytes(4, "big")
    hdr[13:15] = w.to_bytes(2, "big")
    hdr[15:17] = h.to_bytes(2, "big")
    open(f"{corpus}/ansi_nist/small_{name}.an2", "wb").write(head + bytes(hdr) + wsq)
EOF
rm -r "$tmp"
# Corpora of the small seeds alone, for the fast runs (README).
mkdir -p corpus/wsq_small corpus/ansi_nist_small
cp corpus/wsq/crop*.wsq corpus/wsq_small/
cp corpus/ansi_nist/small_*.an2 corpus/ansi_nist_small/
echo "seeds: $(ls corpus/wsq | wc -l) wsq, $(ls corpus/ansi_nist | wc -l) ansi_nist"
# The clear test gallery, and clear de-duplication checkpoints (version 2 and 1).
mkdir -p corpus/clear_gallery corpus/dedup_checkpoint
cp ../crates/ridgeline/tests/data/gallery-v1/* corpus/clear_gallery/
# A clear gallery of this build, for its coarse sidecars (the checked-in one has none).
tmp=$(mktemp -d)
"$cli" synth --out "$tmp/t" --fingers 3 --impressions 1 --templates-only --seed 5 > /dev/null 2>&1
"$cli" gallery create "$tmp/g" > /dev/null
for f in 1 2 3; do
  "$cli" enroll --gallery "$tmp/g" --id "P$f" --print "1=$tmp/t/${f}_1.rlt" > /dev/null 2>&1
done
for f in "$tmp"/g/*.idx "$tmp"/g/*.seg "$tmp"/g/MANIFEST; do cp "$f" "corpus/clear_gallery/new-$(basename "$f")"; done
rm -r "$tmp"
python3 - corpus/dedup_checkpoint <<'PY'
import struct, sys, zlib
out = sys.argv[1]
pairs = struct.pack("<IIdd", 3, 700, 9.5, 3.1e-10) + struct.pack("<IIdd", 10, 11, 12.0, 1e-12)
compared = struct.pack("<Q", 2) + struct.pack("<II", 7, 512) + struct.pack("<II", 500, 900)
for version, tail in [(2, pairs + compared), (1, pairs)]:
    head = b"RLC\x1a" + struct.pack("<HH", version, 0) + struct.pack("<6Q", 0x0123456789ABCDEF, 1000, 512, 2, 4242, 1234)
    crc = zlib.crc32(tail, zlib.crc32(head))
    open(f"{out}/v{version}.ckpt", "wb").write(head + struct.pack("<II", crc, 0) + tail)
PY
