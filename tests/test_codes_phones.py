from hypothesis import given
from hypothesis import strategies as st

from hotline import codes
from hotline.phones import to_e164


def test_local_and_international_forms_become_e164():
    assert to_e164("0912 345 678") == "+84912345678"
    assert to_e164("+84 912-345-678") == "+84912345678"
    assert to_e164("84912345678") == "+84912345678"


def test_withheld_and_impossible_numbers_are_none():
    for raw in ("anonymous", "restricted", "+266696687", "", None, "12", "abc"):
        assert to_e164(raw) is None


def test_codes_are_short_numeric_and_self_checking():
    code = codes.random_code()
    assert code.isdigit() and len(code) == codes.MIN_BODY_LENGTH + 1
    assert code[0] != "0"
    assert codes.is_valid_code(code)


@given(st.text(alphabet="0123456789", min_size=5, max_size=9), st.data())
def test_check_digit_catches_every_single_digit_error(body, data):
    code = body + str(codes.damm_digit(body))
    position = data.draw(st.integers(0, len(code) - 1))
    wrong = data.draw(st.sampled_from([d for d in "0123456789" if d != code[position]]))
    assert not codes.is_valid_code(code[:position] + wrong + code[position + 1:])


@given(st.text(alphabet="0123456789", min_size=5, max_size=9), st.data())
def test_check_digit_catches_adjacent_swaps(body, data):
    code = body + str(codes.damm_digit(body))
    i = data.draw(st.integers(0, len(code) - 2))
    if code[i] != code[i + 1]:
        swapped = code[:i] + code[i + 1] + code[i] + code[i + 2:]
        assert not codes.is_valid_code(swapped)
