"""The one runner of ``.tflite`` models: LiteRT (``ai-edge-litert``), without TensorFlow.

Both the classifier (``model.tflite``) and the infrared extractor's hand-landmark models
(MediaPipe's bundled ``hand_landmark_*.tflite``) run here, each on one thread: the inputs are
single frames or windows, for which threading costs more than it saves.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .errors import InputError

#: How to get LiteRT when it is missing, in the error message.
INSTALL_HINT = "install it with 'pip install ai-edge-litert' (a dependency of this package)"


class LiteRTRunner:
    """A ``.tflite`` model behind a LiteRT interpreter.

    Args:
        source: The model file, or its bytes (then ``name`` names it in errors).
        name: What error messages call the model (the file's path by default).
        num_threads: Interpreter threads.

    Raises:
        InputError: If LiteRT is not installed, or the file is missing or not a LiteRT model.
    """

    def __init__(
        self,
        source: str | os.PathLike | bytes,
        *,
        name: str | None = None,
        num_threads: int = 1,
    ) -> None:
        is_bytes = isinstance(source, bytes | bytearray)
        self.name = name or ("LiteRT model" if is_bytes else str(source))
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError:
            raise InputError(f"{self.name}: running it needs LiteRT; {INSTALL_HINT}") from None
        if not is_bytes and not Path(source).is_file():
            raise InputError(f"{self.name}: file not found (expected a LiteRT .tflite model)")
        try:
            if is_bytes:
                self._interpreter = Interpreter(
                    model_content=bytes(source), num_threads=num_threads
                )
            else:
                self._interpreter = Interpreter(model_path=str(source), num_threads=num_threads)
            self._interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as error:
            reason = str(error).strip().splitlines()[0] if str(error).strip() else "unreadable"
            raise InputError(
                f"{self.name}: not a valid LiteRT (.tflite) model ({reason})"
            ) from None
        self._inputs = self._interpreter.get_input_details()
        self._outputs = self._interpreter.get_output_details()

    @property
    def input_shapes(self) -> list[tuple[int, ...]]:
        """The shape of each input, in order."""
        return [tuple(int(d) for d in detail["shape"]) for detail in self._inputs]

    @property
    def output_shapes(self) -> dict[str, tuple[int, ...]]:
        """The shape of each output, by output name."""
        return {d["name"]: tuple(int(v) for v in d["shape"]) for d in self._outputs}

    def run(self, *inputs: np.ndarray) -> dict[str, np.ndarray]:
        """Runs the model once.

        Args:
            inputs: One array per model input, of its shape and dtype.

        Returns:
            Each output by name (copies, safe to keep across calls).
        """
        for detail, value in zip(self._inputs, inputs, strict=True):
            array = np.ascontiguousarray(value, dtype=detail["dtype"])
            self._interpreter.set_tensor(detail["index"], array)
        self._interpreter.invoke()
        return {d["name"]: self._interpreter.get_tensor(d["index"]).copy() for d in self._outputs}

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Runs a one-input model and returns its first output."""
        return self.run(x)[self._outputs[0]["name"]]
