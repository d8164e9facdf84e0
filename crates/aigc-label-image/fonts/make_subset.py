#!/usr/bin/env python3
"""Regenerates AigcLabelSans-Bold.otf, the label font bundled by aigc-label-image.

Source: Noto Sans CJK SC Bold from Debian's fonts-noto-cjk package (SIL OFL 1.1,
"Copyright 2014-2021 Adobe, with Reserved Font Name 'Source'").

Steps: keep only the glyphs a label needs (the label characters, a few common words of Chinese
label phrasings, CJK punctuation including 【】, and printable ASCII), drop hinting and layout
tables, then rename the font. The OFL says a Modified Version must not use a Reserved Font Name;
a subset is a Modified Version, so every name record and the CFF names become "AIGC Label Sans"
(no "Source", and no "Noto", which is a trademark of Google).

Needs: apt-get install fonts-noto-cjk; pip install fonttools (tested with fonttools 4.x).
Usage: python3 make_subset.py [SOURCE.ttc] (run from any directory; writes next to this script)
"""

import os
import sys

from fontTools import subset
from fontTools.ttLib import TTFont

SOURCE = "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc"
FONT_NUMBER = 2  # index of "Noto Sans CJK SC Bold" in the collection
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "AigcLabelSans-Bold.otf")

# The label elements of GB 45438 (AI element, generation element), words of common label
# phrasings ("本图片由人工智能生成", "AI生成内容"), full-width ＡＩ, and CJK punctuation.
CJK_TEXT = "人工智能生成合成由本内容图像片视频为ＡＩ【】（），。：；、！？“”‘’《》·—…"
ASCII = "".join(chr(c) for c in range(0x20, 0x7F))

FAMILY = "AIGC Label Sans"
STYLE = "Bold"
PS_NAME = "AIGCLabelSans-Bold"
VERSION = "Version 1.000; subset of Noto Sans CJK SC Bold 2.004"
LICENSE = (
    "This Font Software is licensed under the SIL Open Font License, Version 1.1. "
    "It is a modified version (subset) of Noto Sans CJK SC Bold."
)


def subset_font(source: str) -> TTFont:
    options = subset.Options()
    options.font_number = FONT_NUMBER
    options.layout_features = []
    options.hinting = False
    options.desubroutinize = True
    options.name_IDs = ["*"]
    options.name_languages = [0x409]
    options.notdef_outline = True
    font = subset.load_font(source, options)
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=CJK_TEXT + ASCII)
    subsetter.subset(font)
    return font


def rename(font: TTFont) -> None:
    names = font["name"]
    copyright_notice = "Copyright 2014-2021 Adobe (http://www.adobe.com/), with Reserved Font Name 'Source'."
    records = {
        0: copyright_notice,
        1: FAMILY,
        2: STYLE,
        3: f"1.000;{PS_NAME}",
        4: f"{FAMILY} {STYLE}",
        5: VERSION,
        6: PS_NAME,
        13: LICENSE,
        14: "https://openfontlicense.org",
    }
    # Drop every record, then write ours: nothing of the original names survives.
    names.names = []
    for name_id, text in records.items():
        names.setName(text, name_id, 3, 1, 0x409)
        names.setName(text, name_id, 1, 0, 0)
    cff = font["CFF "].cff
    cff.fontNames = [PS_NAME]
    top = cff.topDictIndex[0]
    top.FullName = f"{FAMILY} {STYLE}"
    top.FamilyName = FAMILY
    top.Notice = copyright_notice
    if hasattr(top, "Copyright"):
        top.Copyright = copyright_notice
    if hasattr(top, "FDArray"):
        for fd in top.FDArray:
            if hasattr(fd, "FontName"):
                fd.FontName = PS_NAME + "-" + fd.FontName.rsplit("-", 1)[-1]


def main() -> None:
    source = sys.argv[1] if len(sys.argv) > 1 else SOURCE
    font = subset_font(source)
    rename(font)
    # Keep the original's timestamps so that a rerun gives the same bytes.
    font.recalcTimestamp = False
    font.save(OUT)
    print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes)")


if __name__ == "__main__":
    main()
