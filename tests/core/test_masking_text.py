"""Personal data inside free text, masked for the public."""

from __future__ import annotations

import pytest

from xianghu.core.masking import contains_personal_data, mask_personal_text


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("联系电话13812345678请回电", "联系电话138****5678请回电"),
        ("电话 138 1234 5678", "电话 138****5678"),
        ("+86 13812345678", "+86 138****5678"),
        ("座机0533-1234567", "座机0533-*****67"),
        ("身份证37010219900101123X", "身份证370102********123X"),
        ("身份证370102199001011234，车牌鲁C12345", "身份证370102********1234，车牌鲁C·***45"),
        ("鲁C·D12345挂车", "鲁C·****45挂车"),
    ],
)
def test_personal_data_is_masked(text, masked):
    assert mask_personal_text(text) == masked
    assert contains_personal_data(text)
    assert not contains_personal_data(masked)


@pytest.mark.parametrize(
    "text",
    [
        "呼叫编号371221261126000001",  # a call number is not an ID number
        "2025年3月1日上午10点，3户村民",
        "王庄镇1村村口变压器冒烟",
        "",
    ],
)
def test_other_text_is_left_alone(text):
    assert mask_personal_text(text) == text
    assert not contains_personal_data(text)
