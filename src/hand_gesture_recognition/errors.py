"""Errors that the command line reports as one clear line and exit status 2."""


class InputError(ValueError):
    """Bad user input: a file, directory or argument that is missing or not as expected.

    The command line prints the message (which names the file or argument and what was
    expected) on one line and exits with status 2, without a traceback.
    """


class DownloadError(InputError):
    """A remote resource (Kaggle, the Hugging Face Hub) could not be reached."""
