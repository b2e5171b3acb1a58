"""The language-aware sentence splitter: one case per script rule, and Thai measured on XQuAD-R."""

from __future__ import annotations

import pytest

from xlir.data.rform import read_squad
from xlir.data.sentences import split, split_spans


@pytest.mark.parametrize(
    "lang, text, expected",
    [
        ("en", "Dr. Smith met J. R. R. Tolkien. They talked. Was it 3.5 hours? Yes!",
         ["Dr. Smith met J. R. R. Tolkien.", "They talked.", "Was it 3.5 hours?", "Yes!"]),
        ("en", 'He said "stop." Then he left.', ['He said "stop."', "Then he left."]),
        ("en", "Visit google.com today. the end.", ["Visit google.com today. the end."]),
        ("de", "Er wurde am 22. April 1900 geboren. 1920 zog er um.",
         ["Er wurde am 22. April 1900 geboren.", "1920 zog er um."]),
        ("ru", "Он родился в Москве. Потом уехал.", ["Он родился в Москве.", "Потом уехал."]),
        ("el", "Η Αθήνα είναι πόλη. Είναι παλιά.", ["Η Αθήνα είναι πόλη.", "Είναι παλιά."]),
        ("zh", "他出生于北京。1995年，他们发行了专辑。后来他搬家了！",
         ["他出生于北京。1995年，他们发行了专辑。", "后来他搬家了！"]),
        ("hi", "यह एक वाक्य है।यह दूसरा है। क्या यह तीसरा है?",
         ["यह एक वाक्य है।", "यह दूसरा है।", "क्या यह तीसरा है?"]),
        ("ar", "ذهب إلى المدرسة.ثم عاد إلى البيت. هل رأيته؟ نعم.",
         ["ذهب إلى المدرسة.", "ثم عاد إلى البيت.", "هل رأيته؟", "نعم."]),
    ],
)
def test_split_rules(lang, text, expected):
    assert split(text, lang) == expected


def test_spans_point_into_text():
    text = "  \ufeffFirst one.   Second one!  "
    spans = split_spans(text, "en")
    assert [text[s:e] for s, e in spans] == ["First one.", "Second one!"]
    assert spans[0][0] == 3


def test_thai_connectives():
    text = ("ทีมบรอนคอสเอาชนะทีมพิตต์สเบิร์กในรอบดิวิชั่นด้วยคะแนนห่าง "
            "ซึ่งเป็นชัยชนะครั้งสำคัญของทีมในฤดูกาลนั้น")
    assert len(split(text, "th")) == 2
    assert len(split("สั้น ซึ่งสั้น", "th")) == 1  # too short to be two sentences


def test_thai_against_xquad_r(data_dir):
    """Boundary precision/recall of the Thai rule against the released XQuAD-R th annotation."""
    official = read_squad(data_dir / "xquad-r" / "th.json.gz")
    tp = fp = fn = n_ours = 0
    for para in official:
        ours = {s for s, _ in split_spans(para.context, "th")[1:]}
        gold = set(para.starts[1:])
        tp, fp, fn = tp + len(ours & gold), fp + len(ours - gold), fn + len(gold - ours)
        n_ours += len(ours) + 1
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    n_official = sum(len(p.sentences) for p in official)
    print(f"\nThai vs XQuAD-R th: {n_ours} sentences (official {n_official}), "
          f"boundary precision {precision:.3f}, recall {recall:.3f}")
    assert abs(n_ours - n_official) / n_official < 0.10
    assert precision > 0.45 and recall > 0.45
    # the naive rule (every space ends a sentence) is far worse
    naive_precision = sum(len(set(p.starts[1:])) for p in official) / sum(
        p.context.strip().count(" ") for p in official)
    assert naive_precision < 0.15
