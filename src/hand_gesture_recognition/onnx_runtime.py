"""The runner of ``model.onnx``: ONNX Runtime on one thread, without TensorFlow.

Live recognition classifies one window per frame. ONNX Runtime runs each LSTM layer of the
ONNX export as one LSTM kernel, while LiteRT runs the ``.tflite`` conversion of a Keras LSTM as
a loop of small operations per frame: the same answers in less than half the time per window
(TECHNICAL_REPORT section 14.18). The LiteRT runner (:mod:`.litert`) stays for MediaPipe's
landmark models and for models that have no ONNX export.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .errors import InputError

#: How to get ONNX Runtime when it is missing, in the error message.
INSTALL_HINT = "install it with 'pip install onnxruntime' (a dependency of this package)"


class OnnxRunner:
    """An ``.onnx`` model in an ONNX Runtime session on the CPU.

    Args:
        source: The model file, or its bytes (then ``name`` names it in errors).
        name: What error messages call the model (the file's path by default).
        num_threads: Threads within an operation (one window at a time gains nothing from
            more).

    Raises:
        InputError: If ONNX Runtime is not installed, or the file is missing or not an ONNX
            model.
    """

    def __init__(
        self,
        source: str | os.PathLike | bytes,
        *,
        name: str | None = None,
        num_threads: int = 1,
    ) -> None:
        is_bytes = isinstance(source, bytes | bytearray)
        self.name = name or ("ONNX model" if is_bytes else str(source))
        try:
            import onnxruntime
        except ImportError:
            raise InputError(
                f"{self.name}: running it needs ONNX Runtime; {INSTALL_HINT}"
            ) from None
        if not is_bytes and not Path(source).is_file():
            raise InputError(f"{self.name}: file not found (expected an ONNX .onnx model)")
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = num_threads
        options.inter_op_num_threads = 1
        # Spinning threads wait for work that a one-window call never gives them.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        try:
            self._session = onnxruntime.InferenceSession(
                bytes(source) if is_bytes else str(source),
                options,
                providers=["CPUExecutionProvider"],
            )
        except Exception as error:  # noqa: BLE001 - ONNX Runtime raises its own error types.
            reason = str(error).strip().splitlines()[0] if str(error).strip() else "unreadable"
            raise InputError(f"{self.name}: not a valid ONNX model ({reason})") from None
        self._inputs = self._session.get_inputs()
        self._outputs = [output.name for output in self._session.get_outputs()]

    @property
    def input_shapes(self) -> list[tuple[int | None, ...]]:
        """The shape of each input, in order (None where any size is accepted)."""
        return [_shape(node.shape) for node in self._inputs]

    @property
    def output_shapes(self) -> dict[str, tuple[int | None, ...]]:
        """The shape of each output, by output name (None where the size varies)."""
        return {node.name: _shape(node.shape) for node in self._session.get_outputs()}

    def run(self, *inputs: np.ndarray) -> dict[str, np.ndarray]:
        """Runs the model once.

        Args:
            inputs: One float32 array per model input, of its shape.

        Returns:
            Each output by name.
        """
        feed = {
            node.name: np.ascontiguousarray(value, dtype=np.float32)
            for node, value in zip(self._inputs, inputs, strict=True)
        }
        return dict(zip(self._outputs, self._session.run(self._outputs, feed), strict=True))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Runs a one-input model and returns its first output."""
        return self.run(x)[self._outputs[0]]


def _shape(dims: list) -> tuple[int | None, ...]:
    """A shape with ONNX's symbolic sizes (names such as ``unk__12``) as None."""
    return tuple(d if isinstance(d, int) else None for d in dims)
