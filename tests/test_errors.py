"""What a one-line refusal quotes of an error raised by code it called."""

from ddpg.errors import first_line, raised


def test_first_line_is_the_messages_first_line_or_the_type_name():
    assert first_line(ValueError("  bad value\nTraceback (most recent call last):\n  ...")) == "bad value"
    assert first_line(KeyError()) == "KeyError"
    assert first_line(RuntimeError("   \n")) == "RuntimeError"


def test_raised_names_the_type_before_the_first_line():
    assert raised(ImportError("No module named 'mypkg'\nmore")) == "ImportError: No module named 'mypkg'"
    assert raised(ZeroDivisionError()) == "ZeroDivisionError"
