from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from xianghu.core.masking import mask_email, mask_id_number, mask_name, mask_phone


def test_examples():
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("") == ""
    assert mask_id_number("370102199001011234") == "370102********1234"
    assert mask_name("王建国") == "王*国"
    assert mask_name("李四") == "李*"
    assert mask_email("zhang.san@example.cn") == "z***@example.cn"
    assert mask_email("not-an-address") == ""
    assert mask_email(None) == ""


@given(st.from_regex(r"1[3-9]\d{9}", fullmatch=True))
def test_mobile_numbers_hide_the_middle_four(phone):
    masked = mask_phone(phone)
    assert len(masked) == len(phone)
    assert masked[3:7] == "****"
    assert phone[3:7] not in masked[3:7]


@given(st.text(alphabet="0123456789-", min_size=0, max_size=20))
def test_no_phone_is_ever_shown_in_full(phone):
    masked = mask_phone(phone)
    if len(phone) >= 5:
        assert masked != phone
        assert "*" in masked


@given(st.from_regex(r"\d{17}[\dX]", fullmatch=True))
def test_id_numbers_hide_the_birth_date(value):
    masked = mask_id_number(value)
    assert len(masked) == 18
    assert value[6:14] not in masked
    assert masked[:6] == value[:6]
    assert masked[-4:] == value[-4:]
