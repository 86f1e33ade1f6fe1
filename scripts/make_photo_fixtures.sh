#!/usr/bin/env bash
# Photo files written by tools GenCurve did not write (issue 22): ImageMagick embeds the ICC profiles, exiftool
# writes EXIF and XMP, heif-enc (libheif-examples) and avifenc (libavif-bin) encode HEIC and AVIF. The profiles
# are colord-data's AdobeRGB1998.icc and ProPhotoRGB.icc (CC0-1.0). Output: tests/data/photos/ (committed, so the
# tests run where these tools are not installed; the tests read GenCurve's outputs back with exiftool and identify
# when they are).
#
#   sudo apt-get install -y imagemagick libimage-exiftool-perl libheif-examples libavif-bin colord-data
#   scripts/make_photo_fixtures.sh
set -euo pipefail
cd "$(dirname "$0")/.."
out=tests/data/photos
icc=/usr/share/color/icc/colord
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# 1. a 96 x 64 crop of the bundled sample, untagged, and tagged with Adobe RGB (ImageMagick assigns the profile)
python3 - "$tmp/base.png" <<'PY'
import sys
import numpy as np
from PIL import Image
from gencurve_desktop.document.images import load_rgb
from gencurve_desktop.paths import sample_image
Image.fromarray(np.ascontiguousarray(load_rgb(sample_image())[100:164, 180:276])).save(sys.argv[1])
PY
convert "$tmp/base.png" -profile "$icc/AdobeRGB1998.icc" "$tmp/adobe.png"

# 2. JPEG (Adobe RGB), PNG (Adobe RGB), TIFF (ProPhoto RGB), each with EXIF and XMP from exiftool; the JPEG is
#    stored rotated with Orientation 6, as cameras do
convert "$tmp/base.png" -rotate -90 -profile "$icc/AdobeRGB1998.icc" -quality 95 "$out/adobe-rgb-rotated.jpg"
cp "$tmp/adobe.png" "$out/adobe-rgb.png"
convert "$tmp/base.png" -profile "$icc/ProPhotoRGB.icc" -compress zip "$out/prophoto-rgb.tif"
for f in "$out/adobe-rgb-rotated.jpg" "$out/adobe-rgb.png" "$out/prophoto-rgb.tif"; do
    exiftool -q -overwrite_original -Make=TestCam -Model="GC One" -XMP-dc:Title=Harbour \
        -XResolution=300 -YResolution=300 -ResolutionUnit=inches "$f"
done
exiftool -q -overwrite_original -Orientation#=6 "$out/adobe-rgb-rotated.jpg"

# 3. HEIC and AVIF from the Adobe RGB PNG (both encoders copy its ICC profile); EXIF and XMP by exiftool / avifenc
heif-enc -q 90 "$tmp/adobe.png" -o "$out/adobe-rgb.heic" > /dev/null
exiftool -q -overwrite_original -Make=TestCam -XMP-dc:Title=Harbour "$out/adobe-rgb.heic" || true
exiftool -b -exif "$out/adobe-rgb.png" > "$tmp/exif.bin"
exiftool -b -xmp "$out/adobe-rgb.png" > "$tmp/xmp.xml"
avifenc --exif "$tmp/exif.bin" --xmp "$tmp/xmp.xml" "$tmp/adobe.png" "$out/adobe-rgb.avif" > /dev/null

# 4. 16-bit files (issue 22): the sample blurred at ImageMagick's 16-bit quantum (real 16-bit values, not v * 257),
#    as a 48-bit PNG (Adobe RGB) and a 16-bit TIFF (ProPhoto RGB) with EXIF and XMP, and a 16-bit grey PNG stored
#    rotated with Orientation 6
convert "$tmp/base.png" -depth 16 -blur 0x1.2 -profile "$icc/AdobeRGB1998.icc" "$out/adobe-rgb-16.png"
convert "$tmp/base.png" -depth 16 -blur 0x1.2 -profile "$icc/ProPhotoRGB.icc" -compress zip "$out/prophoto-rgb-16.tif"
convert "$tmp/base.png" -depth 16 -blur 0x1.2 -colorspace gray -rotate -90 "$out/grey-16-rotated.png"
for f in "$out/adobe-rgb-16.png" "$out/prophoto-rgb-16.tif"; do
    exiftool -q -overwrite_original -Make=TestCam -Model="GC One" -XMP-dc:Title=Harbour \
        -XResolution=300 -YResolution=300 -ResolutionUnit=inches "$f"
done
exiftool -q -overwrite_original -Orientation#=6 "$out/grey-16-rotated.png"
ls -l "$out"
