"""The one error type for input a user can fix: the command line prints it in one line, exit status 2."""


class UserInputError(ValueError):
    """A value the user gave (or an environment they chose) cannot be used; the message names it and what
    was expected."""
