#!/usr/bin/env bash
# Fuzzes FaceTwin's parsers of untrusted bytes with libFuzzer + AddressSanitizer:
#   netpbm       the image decoder (Sources/CNetpbm over libnetpbm)
#   safetensors  the model file reader (header validation and tensor reads)
#   pairlist     the pair-list CSV parser
#   gallery-row  a gallery template's stored embedding blob
#   jpeg, png, webp  the photo decoders (Sources/CImageCodecs over libjpeg-turbo, libpng, libwebp).
#                Linked to the system libraries, only the shim is instrumented (coverage and
#                AddressSanitizer); libFuzzer still catches any crash, hang or oversized allocation
#                inside the libraries. Given the libraries' sources (the versions the system has,
#                Debian 12: libjpeg-turbo 2.1.5, libpng v1.6.39, libwebp v1.2.4: `apt-get source` or
#                the upstream tags), FUZZ_LIBJPEG_SRC=DIR (needs cmake), FUZZ_LIBPNG_SRC=DIR and
#                FUZZ_LIBWEBP_SRC=DIR build them instrumented too.
# Each target is built apart from the package (clang/swiftc -sanitize=fuzzer,address over the
# sources it needs, into .build/fuzz), so `swift build` and `swift test` are untouched. Each runs
# for --seconds N (default 60) from a corpus seeded with Tests/FaceTwinTests/Fixtures. A crash is
# written to Tests/FaceTwinTests/Fixtures/fuzz/<target>/ — commit it: FuzzRegressionTests
# replays every file there in a normal `swift test`.
#
# Usage: scripts/fuzz.sh [--seconds N] [target ...]
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=60
TARGETS=()
while [ $# -gt 0 ]; do
    case "$1" in
        --seconds) SECONDS_EACH="$2"; shift 2 ;;
        -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
        *) TARGETS+=("$1"); shift ;;
    esac
done
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(netpbm safetensors pairlist gallery-row jpeg png webp)

SWIFT_BIN="$(dirname "$(command -v swiftc || echo /opt/swift/usr/bin/swiftc)")"
CLANG="$SWIFT_BIN/clang"
OUT=.build/fuzz
FIX=Tests/FaceTwinTests/Fixtures
SRC=Sources
mkdir -p "$OUT"

# Compiles a library's decoder sources with coverage and AddressSanitizer into $OUT/lib-<name>.
library_objects() {
    local name="$1" src="$2" dir="$OUT/lib-$1" flags=(-g -O1 -fsanitize=fuzzer-no-link,address -w)
    mkdir -p "$dir"
    [ -n "$(find "$dir" -maxdepth 1 -name '*.[oa]' -print -quit)" ] && return 0
    echo "== building $name from $src (instrumented)" >&2
    case "$name" in
        jpeg)
            cmake -S "$src" -B "$dir" -DCMAKE_C_COMPILER="$CLANG" -DCMAKE_C_FLAGS="${flags[*]}" -DWITH_SIMD=0 \
                -DENABLE_SHARED=0 -DWITH_TURBOJPEG=0 -DCMAKE_BUILD_TYPE=None >/dev/null
            cmake --build "$dir" --target jpeg-static -j 2 >/dev/null ;;
        png)
            cp "$src/scripts/pnglibconf.h.prebuilt" "$dir/pnglibconf.h"
            for f in png pngerror pngget pngmem pngpread pngread pngrio pngrtran pngrutil pngset pngtrans pngwio pngwrite pngwtran pngwutil; do
                "$CLANG" "${flags[@]}" -I "$dir" -I "$src" -c "$src/$f.c" -o "$dir/$f.o"
            done ;;
        webp)
            for f in "$src"/src/dec/*.c "$src"/src/dsp/*.c "$src"/src/utils/*.c "$src"/src/demux/*.c; do
                "$CLANG" "${flags[@]}" -I "$src" -c "$f" -o "$dir/$(basename "$(dirname "$f")")_$(basename "$f" .c).o"
            done ;;
    esac
}

build() {
    local t="$1"
    case "$t" in
        netpbm)
            "$CLANG" -g -O1 -fsanitize=fuzzer,address -I Sources/CNetpbm/include \
                scripts/fuzz/netpbm.c Sources/CNetpbm/netpbm_shim.c -lnetpbm -o "$OUT/$t" ;;
        safetensors)
            "$SWIFT_BIN/swiftc" -sanitize=fuzzer,address -parse-as-library -O -g -module-name FuzzSafeTensors \
                scripts/fuzz/safetensors.swift $SRC/FaceTwinModel/SafeTensorsHeader.swift $SRC/FaceTwinModel/SafeTensorsDType.swift \
                $SRC/FaceTwinModel/SafeTensorsError.swift $SRC/FaceTwinModel/SafeTensorsFile.swift -o "$OUT/$t" ;;
        pairlist)
            "$SWIFT_BIN/swiftc" -sanitize=fuzzer,address -parse-as-library -O -g -module-name FuzzPairList \
                scripts/fuzz/pairlist.swift $SRC/FaceTwinEvaluation/PairList.swift -o "$OUT/$t" ;;
        gallery-row)
            "$SWIFT_BIN/swiftc" -sanitize=fuzzer,address -parse-as-library -O -g -module-name FuzzGalleryRow \
                scripts/fuzz/gallery-row.swift $SRC/FaceTwinGallery/TemplateCodec.swift $SRC/FaceTwinGallery/GalleryError.swift \
                $SRC/FaceTwinData/ImageError.swift $SRC/FaceTwinModel/VerificationThreshold.swift -o "$OUT/$t" ;;
        jpeg|png|webp)
            local includes=(-I Sources/CImageCodecs/include) jpeg=(-ljpeg) png=(-lpng16) webp=(-lwebp -lwebpdemux)
            if [ -n "${FUZZ_LIBJPEG_SRC:-}" ]; then
                library_objects jpeg "$FUZZ_LIBJPEG_SRC"
                includes+=(-I "$OUT/lib-jpeg" -I "$FUZZ_LIBJPEG_SRC")
                jpeg=("$OUT/lib-jpeg/libjpeg.a")
            fi
            if [ -n "${FUZZ_LIBPNG_SRC:-}" ]; then
                library_objects png "$FUZZ_LIBPNG_SRC"
                includes+=(-I "$OUT/lib-png" -I "$FUZZ_LIBPNG_SRC")
                png=("$OUT"/lib-png/*.o -lz)
            fi
            if [ -n "${FUZZ_LIBWEBP_SRC:-}" ]; then
                library_objects webp "$FUZZ_LIBWEBP_SRC"
                includes+=(-I "$FUZZ_LIBWEBP_SRC/src")
                webp=("$OUT"/lib-webp/*.o -lpthread)
            fi
            "$CLANG" -g -O1 -fsanitize=fuzzer,address "${includes[@]}" -DFUZZ_DECODER="facetwin_decode_${t}_fd" \
                scripts/fuzz/image-codec.c Sources/CImageCodecs/*.c "${jpeg[@]}" "${png[@]}" "${webp[@]}" -lm -o "$OUT/$t" ;;
        *) echo "fuzz.sh: unknown target $t" >&2; exit 2 ;;
    esac
}

seed() {
    local t="$1" dir="$OUT/corpus/$t"
    mkdir -p "$dir"
    case "$t" in
        netpbm)
            cp $FIX/data/*.pgm $FIX/data/*.ppm "$dir"/ 2>/dev/null || true
            [ -f data/orl/s1/1.pgm ] && cp data/orl/s1/1.pgm "$dir/orl_s1_1.pgm"
            printf 'P2\n3 2\n15\n0 1 2\n3 4 15\n' > "$dir/plain.pgm"
            printf 'P1\n4 2\n0101\n1010\n' > "$dir/plain.pbm"
            printf 'P4\n8 2\n\x55\xaa' > "$dir/raw.pbm"
            printf 'P7\nWIDTH 2\nHEIGHT 1\nDEPTH 4\nMAXVAL 255\nTUPLTYPE RGB_ALPHA\nENDHDR\n\x01\x02\x03\x04\x05\x06\x07\x08' > "$dir/rgba.pam" ;;
        safetensors)
            find $FIX -name '*.safetensors' -exec cp {} "$dir"/ \; 2>/dev/null || true
            python3 - "$dir" <<'PY'
import json, struct, sys
def write(name, tensors, meta):
    header, blob = {}, b""
    for n, (dtype, shape, data) in tensors.items():
        header[n] = {"dtype": dtype, "shape": shape, "data_offsets": [len(blob), len(blob) + len(data)]}
        blob += data
    if meta: header["__metadata__"] = meta
    h = json.dumps(header).encode()
    open(sys.argv[1] + "/" + name, "wb").write(struct.pack("<Q", len(h)) + h + blob)
write("f32.safetensors", {"w": ("F32", [2, 3], struct.pack("<6f", 1, 2, 3, 4, 5, 6)), "n": ("I64", [], struct.pack("<q", 7))},
      {"format": "facetwin.siamese", "format_version": "1"})
write("mixed.safetensors", {"h": ("F16", [2], b"\x00\x3c\x00\xc0"), "b": ("BF16", [1], b"\x80\x3f"),
                            "d": ("F64", [1], struct.pack("<d", 0.5)), "u": ("U64", [1], struct.pack("<Q", 2**63)),
                            "k": ("BOOL", [2], b"\x00\x01")}, None)
PY
            ;;
        pairlist)
            printf 'image1,image2,same\na.pgm,b.pgm,1\n"c,d.pgm", e.pgm ,0\n' > "$dir/labelled.csv"
            printf 'a.pgm,b.pgm\r\n# comment\r\n\r\nc.pgm,d.pgm\r\n' > "$dir/crlf.csv"
            printf '\xef\xbb\xbfimage1,image2\n"a""q.pgm",b.pgm\n' > "$dir/bom.csv" ;;
        gallery-row)
            python3 - "$dir" <<'PY'
import struct, sys
for n in (1, 5, 128):
    open(f"{sys.argv[1]}/size{n}", "wb").write(struct.pack(">H", n) + struct.pack(f"<{n}f", *[i * 0.25 - 1 for i in range(n)]))
open(f"{sys.argv[1]}/short", "wb").write(struct.pack(">H", 5) + b"\x00" * 7)
PY
            ;;
        jpeg|png|webp)
            local ext="$t"; [ "$t" = jpeg ] && ext=jpg
            cp $FIX/codecs/*."$ext" "$dir"/ 2>/dev/null || true ;;
    esac
}

summary=()
for t in "${TARGETS[@]}"; do
    echo "== $t: building" >&2
    build "$t"
    seed "$t"
    crashes="$FIX/fuzz/$t"
    mkdir -p "$crashes"
    log="$OUT/$t.log"
    echo "== $t: fuzzing for ${SECONDS_EACH}s" >&2
    set +e
    # -fork keeps fuzzing after a crash (each crash still lands in $crashes); rss and input
    # limits make a huge allocation a finding rather than a stall.
    "$OUT/$t" "$OUT/corpus/$t" -max_total_time="$SECONDS_EACH" -print_final_stats=1 -rss_limit_mb=2048 \
        -max_len=65536 -timeout=10 -artifact_prefix="$crashes/" -fork=1 -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1 >"$log" 2>&1
    status=$?
    set -e
    # With -fork the parent's progress lines "#N: cov: …" count every child's executions.
    runs=$( { grep -oE '^#[0-9]+' "$log" || true; } | tail -1 | tr -d '#')
    found=$(find "$crashes" -type f ! -name '.*' | wc -l)
    summary+=("$t: ${runs:-?} inputs in ${SECONDS_EACH}s, $found regression input(s) in $crashes (libFuzzer exit $status, log $log)")
done
printf '%s\n' "${summary[@]}"
