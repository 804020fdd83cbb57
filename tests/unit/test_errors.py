"""errors.first_line: what every one-line report says of an exception."""
from voltools.errors import VoltoolsError, first_line


def test_first_line_is_the_first_line_trimmed():
    assert first_line(RuntimeError("  boom  \nsecond line")) == "boom"


def test_first_line_of_an_exception_without_text_is_its_type_name():
    assert first_line(VoltoolsError()) == "VoltoolsError"
    assert first_line(ValueError("  \n ")) == "ValueError"


def test_first_line_of_an_empty_message_is_empty():
    assert first_line("") == "" and first_line("\n") == ""


def test_first_line_is_cut_at_the_limit_unless_none():
    long = "x" * 500
    assert first_line(long) == "x" * 200
    assert first_line(long, 160) == "x" * 160
    assert first_line(long, None) == long
