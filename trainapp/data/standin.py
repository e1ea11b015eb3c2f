"""Generated stand-ins for sensor datasets, used when ``data.path`` is null.

Each class is an "activity" with its own rhythm (frequency and harmonic), per-channel amplitudes
and phases, and a per-channel static offset (the gravity direction of a posture). Classes come
in pairs built from one shared prototype plus a small perturbation, like walking vs. walking
upstairs or sitting vs. standing, and every subject has its own amplitude, tempo and offset
bias. A model therefore has to learn shape and rhythm across subjects, so accuracy lands well
above chance but short of 100%, and learning rate or dropout visibly change the result.

The prototypes depend only on ``seed`` (the identity of the "dataset"); the windows of each
subject depend on ``seed`` and the subject id, so fit and test subjects share activities.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from trainapp.data.split import Arrays

# Tuned so that cnn_tcn with the defaults reaches about 0.86 validation accuracy on the UCI HAR
# stand-in (mlp about 0.76), while lr=1e-5 stays near 0.4 and dropout 0.7 costs ~0.1.
_PAIR_SEPARATION = 0.2  # how far the two classes of a pair differ (relative scale)
_NOISE = 1.0  # std of the sensor noise added to every sample
_SUBJECT_OFFSET = 0.4  # std of a subject's per-channel offset bias (how a sensor is worn)
_WINDOW_OFFSET = 0.3  # std of a window's per-channel offset jitter (posture changes)


@dataclass(frozen=True)
class _Prototypes:
    cycles: np.ndarray  # (K,) cycles per 128 steps
    harmonic: np.ndarray  # (K,) relative amplitude of the second harmonic
    amp: np.ndarray  # (K, C)
    phase: np.ndarray  # (K, C)
    offset: np.ndarray  # (K, C)


def _prototypes(rng: np.random.Generator, num_classes: int, num_channels: int) -> _Prototypes:
    n_base = (num_classes + 1) // 2
    shape = (n_base, num_channels)
    # Half of the base activities are postures: weak motion, told apart by their offsets.
    motion = np.where(np.arange(n_base) % 2 == 0, 1.0, 0.15)[:, None]
    base = _Prototypes(
        cycles=rng.uniform(1.5, 6.0, n_base),
        harmonic=rng.uniform(0.0, 0.5, n_base),
        amp=motion * rng.uniform(0.3, 1.0, shape),
        phase=rng.uniform(0.0, 2 * np.pi, shape),
        offset=rng.normal(0.0, 1.0, shape),
    )
    pair = np.arange(num_classes) // 2
    cshape = (num_classes, num_channels)
    sep = _PAIR_SEPARATION
    return _Prototypes(
        cycles=base.cycles[pair] * np.exp(rng.normal(0.0, 0.15 * sep, num_classes)),
        harmonic=np.clip(base.harmonic[pair] + rng.normal(0.0, 0.3 * sep, num_classes), 0, 1),
        amp=base.amp[pair] * np.exp(rng.normal(0.0, 0.5 * sep, cshape)),
        phase=base.phase[pair] + rng.normal(0.0, sep, cshape),
        offset=base.offset[pair] + rng.normal(0.0, 0.5 * sep, cshape),
    )


def make_standin(
    *,
    num_classes: int,
    num_channels: int,
    steps: int,
    subjects: Sequence[int],
    windows_per_subject: int,
    seed: int,
) -> Arrays:
    """Generate ``len(subjects) * windows_per_subject`` windows of shape (num_channels, steps)."""
    proto = _prototypes(np.random.default_rng(seed), num_classes, num_channels)
    xs, ys = [], []
    for subject in subjects:
        rng = np.random.default_rng([seed, subject])
        labels = rng.integers(0, num_classes, windows_per_subject)
        xs.append(_windows(rng, proto, labels, num_channels, steps))
        ys.append(labels)
    y = np.concatenate(ys).astype(np.int64)
    groups = np.repeat(np.asarray(subjects, dtype=np.int64), windows_per_subject)
    return Arrays(np.concatenate(xs).astype(np.float32), y, groups)


def _windows(
    rng: np.random.Generator, proto: _Prototypes, labels: np.ndarray, channels: int, steps: int
) -> np.ndarray:
    n = len(labels)
    # Subject traits: body size scales amplitudes, tempo scales rhythm, sensor fit shifts offsets.
    subject_amp = rng.uniform(0.75, 1.25, channels)
    subject_tempo = rng.uniform(0.9, 1.1)
    subject_offset = rng.normal(0.0, _SUBJECT_OFFSET, channels)

    cycles = proto.cycles[labels] * subject_tempo * rng.uniform(0.9, 1.1, n)
    t = np.arange(steps) / 128.0  # rhythm in cycles per 128 steps, whatever the window length
    angle = 2 * np.pi * cycles[:, None, None] * t + rng.uniform(0, 2 * np.pi, (n, 1, 1))
    angle = angle + proto.phase[labels][:, :, None]
    wave = np.sin(angle) + proto.harmonic[labels][:, None, None] * np.sin(2 * angle)
    amp = proto.amp[labels] * subject_amp * rng.uniform(0.8, 1.2, (n, 1))
    offset = proto.offset[labels] + subject_offset + rng.normal(0.0, _WINDOW_OFFSET, (n, channels))
    noise = rng.normal(0.0, _NOISE, (n, channels, steps))
    return offset[:, :, None] + amp[:, :, None] * wave + noise
