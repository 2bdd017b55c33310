"""Hand gesture recognition from image sequences: MediaPipe hand landmarks and an LSTM.

The package holds every stage of the pipeline, one module each: :mod:`.dataset`,
:mod:`.landmarks` (and :mod:`.infrared`), :mod:`.features`, :mod:`.sequences`, :mod:`.augment`,
:mod:`.model`, :mod:`.train`, :mod:`.evaluate`, :mod:`.realtime`, :mod:`.record`, :mod:`.hub`
and :mod:`.cli`; :mod:`.cluster` runs the landmark extraction on Ray, and :mod:`.storage` holds
the safe writes they all use. Importing it loads no heavy library.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("hand-gesture-recognition")
except PackageNotFoundError:  # Running from a source tree that is not installed.
    __version__ = "0.0.0"
