"""The one error type for input a user can fix: the command line prints it in one line, exit status 2."""


class UserInputError(ValueError):
    """A value the user gave (or an environment they chose) cannot be used; the message names it and what
    was expected."""


def install_command(extra: str) -> str:
    """The command that installs this project with an optional part, from its checkout: `ddpg` on PyPI is
    another project (a 2017 TensorFlow DDPG), and this one's distribution, ddpg-keras, is not published."""
    return f'pip install ".[{extra}]" in the ddpg checkout'
