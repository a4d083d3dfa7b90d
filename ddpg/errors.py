"""The one error type for input a user can fix: the command line prints it in one line, exit status 2."""


class UserInputError(ValueError):
    """A value the user gave (or an environment they chose) cannot be used; the message names it and what
    was expected."""


def first_line(error: BaseException) -> str:
    """The first line of an error's message, or its type's name when it has none: what a one-line refusal
    quotes of an error raised by code it called."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def raised(error: BaseException) -> str:
    """`Type: first line` of an error raised by the user's own code (a factory, a module, a constructor)."""
    return f"{type(error).__name__}: {first_line(error)}" if str(error).strip() else type(error).__name__


def install_command(extra: str) -> str:
    """The command that installs this project with an optional part, from its checkout: `ddpg` on PyPI is
    another project (a 2017 TensorFlow DDPG), and this one's distribution, ddpg-keras, is not published."""
    return f'pip install ".[{extra}]" in the ddpg checkout'
