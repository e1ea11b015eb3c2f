"""Data modules: real file formats, clear errors on bad input, deterministic stand-ins and splits."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trainapp.data import (
    DataFormatError,
    DataNotFoundError,
    DigitsDataModule,
    Pamap2DataModule,
    UciHarDataModule,
)
from trainapp.data.pamap2_format import PROTOCOL_ACTIVITIES, read_pamap2_file
from trainapp.data.split import Standardizer, split_indices
from trainapp.data.standin import make_standin
from trainapp.data.uci_har import CHANNELS, read_uci_har_split

# ----------------------------------------------------------------------------- UCI HAR files

UCI_LABELS = {"train": [1, 2, 3, 4, 5, 6, 1, 2], "test": [6, 5, 4]}
UCI_SUBJECTS = {"train": [1, 1, 1, 3, 3, 5, 5, 5], "test": [2, 2, 4]}


def uci_value(channel: int, window: int, step: int) -> float:
    """A value that tells where it came from: channel, window and step."""
    return channel * 10 + window + step / 1000


def write_uci_har(root: Path) -> Path:
    """A tiny 'UCI HAR Dataset' folder in the exact layout and number format of the real one."""
    for split, labels in UCI_LABELS.items():
        folder = root / split / "Inertial Signals"
        folder.mkdir(parents=True)
        for c, channel in enumerate(CHANNELS):
            rows = [
                "  " + " ".join(f"{uci_value(c, w, t):.7e}" for t in range(128))
                for w in range(len(labels))
            ]
            (folder / f"{channel}_{split}.txt").write_text("\n".join(rows) + "\n")
        (root / split / f"y_{split}.txt").write_text("".join(f"{y}\n" for y in labels))
        subjects = "".join(f"{s}\n" for s in UCI_SUBJECTS[split])
        (root / split / f"subject_{split}.txt").write_text(subjects)
    return root


@pytest.fixture
def uci_root(tmp_path: Path) -> Path:
    return write_uci_har(tmp_path / "UCI HAR Dataset")


def test_uci_har_reads_the_real_layout(uci_root: Path) -> None:
    arrays = read_uci_har_split(uci_root, "train", with_subjects=True)
    assert arrays.x.shape == (8, 9, 128)
    assert arrays.x.dtype == np.float32
    assert arrays.y.tolist() == [y - 1 for y in UCI_LABELS["train"]]
    assert arrays.groups is not None and arrays.groups.tolist() == UCI_SUBJECTS["train"]
    # channel order is CHANNELS (body_acc xyz, body_gyro xyz, total_acc xyz), steps in order
    assert arrays.x[3, 4, 17] == pytest.approx(uci_value(4, 3, 17), rel=1e-6)


def test_uci_har_module_splits_by_subject_and_serves_test(uci_root: Path) -> None:
    dm = UciHarDataModule(path=str(uci_root), batch_size=4, val_fraction=0.25, seed=0)
    assert (dm.input_shape, dm.num_classes) == ((9, 128), 6)
    dm.setup("fit")
    n_train, n_val = len(dm.dataset("train")), len(dm.dataset("val"))
    assert n_train + n_val == 8 and n_val in (2, 3)  # one whole subject: 2 or 3 windows
    x, y = next(iter(dm.train_dataloader()))
    assert x.shape == (4, 9, 128) and int(y.max()) < 6
    dm.setup("test")
    assert dm.dataset("test").tensors[1].tolist() == [5, 4, 3]


def test_uci_har_wrong_path_names_it(tmp_path: Path) -> None:
    dm = UciHarDataModule(path=str(tmp_path / "nowhere"))
    with pytest.raises(DataNotFoundError, match=r"nowhere: does not exist; expected the 'UCI HAR"):
        dm.setup("fit")


def test_uci_har_missing_file_names_it(uci_root: Path) -> None:
    (uci_root / "train" / "Inertial Signals" / "body_gyro_y_train.txt").unlink()
    with pytest.raises(
        DataNotFoundError, match=r"body_gyro_y_train\.txt: file not found; expected 128"
    ):
        read_uci_har_split(uci_root, "train", with_subjects=False)


def test_uci_har_subject_split_without_subject_file_says_what_to_do(uci_root: Path) -> None:
    (uci_root / "train" / "subject_train.txt").unlink()
    with pytest.raises(DataNotFoundError, match=r"subject_train\.txt.*split_by=random"):
        UciHarDataModule(path=str(uci_root), split_by="subject").setup("fit")
    UciHarDataModule(path=str(uci_root), split_by="random").setup("fit")


def _replace_line(file: Path, index: int, text: str) -> None:
    lines = file.read_text().splitlines()
    lines[index] = text
    file.write_text("\n".join(lines) + "\n")


def test_uci_har_short_line_names_file_and_line(uci_root: Path) -> None:
    file = uci_root / "train" / "Inertial Signals" / "total_acc_z_train.txt"
    _replace_line(file, 2, " ".join(["0.5"] * 127))
    with pytest.raises(
        DataFormatError, match=r"total_acc_z_train\.txt: line 3 has 127 values where 128"
    ):
        read_uci_har_split(uci_root, "train", with_subjects=False)


def test_uci_har_non_numeric_value_names_file_line_and_column(uci_root: Path) -> None:
    file = uci_root / "train" / "Inertial Signals" / "body_acc_x_train.txt"
    _replace_line(file, 4, " ".join(["0.5"] * 10 + ["abc"] + ["0.5"] * 117))
    with pytest.raises(
        DataFormatError, match=r"body_acc_x_train\.txt: line 5, column 11: 'abc' is not"
    ):
        read_uci_har_split(uci_root, "train", with_subjects=False)


def test_uci_har_label_out_of_range_is_refused(uci_root: Path) -> None:
    _replace_line(uci_root / "train" / "y_train.txt", 1, "7")
    with pytest.raises(DataFormatError, match=r"y_train\.txt: value 7 on data line 2.*1\.\.6"):
        read_uci_har_split(uci_root, "train", with_subjects=False)


def test_uci_har_window_count_mismatch_is_refused(uci_root: Path) -> None:
    (uci_root / "test" / "y_test.txt").write_text("1\n2\n")
    with pytest.raises(
        DataFormatError, match=r"body_acc_x_test\.txt: has 3 windows but y_test\.txt"
    ):
        read_uci_har_split(uci_root, "test", with_subjects=False)


def test_empty_file_is_refused(uci_root: Path) -> None:
    (uci_root / "test" / "y_test.txt").write_text("")
    with pytest.raises(DataFormatError, match=r"y_test\.txt: the file has no data"):
        read_uci_har_split(uci_root, "test", with_subjects=False)


# ----------------------------------------------------------------------------- PAMAP2 files

# Activity runs of one recording: (activityID, lines). 0 is transient and dropped.
PAMAP2_RUNS = [(0, 40), (1, 300), (0, 50), (24, 200), (3, 30)]


def write_pamap2_subject(file: Path, runs: list[tuple[int, int]] = PAMAP2_RUNS) -> np.ndarray:
    """One subject1XX.dat in the real format: 54 columns, 'NaN' for missing values.

    Cell (line r, column c) holds c * 1000 + r, so a window shows which cells it came from.
    """
    activity = np.concatenate([np.full(n, a) for a, n in runs])
    data = np.arange(54)[None, :] * 1000.0 + np.arange(len(activity))[:, None]
    data[:, 0] = np.arange(len(activity)) * 0.01  # timestamp (s)
    data[:, 1] = activity
    data[np.arange(len(activity)) % 9 != 0, 2] = np.nan  # heart rate is sampled at ~9 Hz
    data[45, 4] = data[46, 4] = np.nan  # dropped packets of hand acc16 x
    lines = [
        " ".join(
            "NaN" if math.isnan(v) else (f"{v:g}" if c == 1 else f"{v:.6f}")
            for c, v in enumerate(row)
        )
        for row in data
    ]
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text("\n".join(lines) + "\n")
    return data


@pytest.fixture
def pamap2_root(tmp_path: Path) -> Path:
    root = tmp_path / "PAMAP2_Dataset"
    write_pamap2_subject(root / "Protocol" / "subject101.dat")
    write_pamap2_subject(root / "Protocol" / "subject102.dat", [(2, 200), (0, 10), (1, 100)])
    return root


def test_pamap2_windows_stay_inside_one_activity(pamap2_root: Path) -> None:
    columns = [4, 5, 6]  # hand acc16 x, y, z (0-based)
    x, y = read_pamap2_file(pamap2_root / "Protocol" / "subject101.dat", columns, 64, 32)
    # activity 1: lines 40..339 -> 8 windows; activity 24: lines 390..589 -> 5; activity 3: too short
    assert x.shape == (13, 3, 64)
    assert y.tolist() == [0] * 8 + [PROTOCOL_ACTIVITIES.index(24)] * 5
    assert x[0, 1, 0] == 5 * 1000 + 40  # column 5 of line 40
    assert x[8, 2, 10] == 6 * 1000 + 390 + 10
    # NaNs on lines 45 and 46 are forward-filled from line 44
    assert x[0, 0, 5] == x[0, 0, 6] == x[0, 0, 4] == 4 * 1000 + 44


def test_pamap2_module_reads_protocol_folder(pamap2_root: Path) -> None:
    dm = Pamap2DataModule(
        path=str(pamap2_root), window=64, stride=32, imus=["hand", "ankle"], sensors=["acc16", "gyro"],
        split_by="random", batch_size=8, test_subjects=[102],
    )  # fmt: skip
    assert dm.input_shape == (12, 64) and dm.num_classes == 12
    dm.setup()
    assert len(dm.dataset("train")) + len(dm.dataset("val")) == 13  # subject 101 only
    assert len(dm.dataset("test")) == 5 + 2  # subject 102: (200-64)//32+1 and (100-64)//32+1
    x, _ = next(iter(dm.test_dataloader()))
    assert x.shape == (7, 12, 64)


def test_pamap2_subject_split_holds_out_a_subject(pamap2_root: Path) -> None:
    dm = Pamap2DataModule(path=str(pamap2_root / "Protocol"), window=64, stride=32, seed=3)
    dm.setup("fit")
    assert sorted([len(dm.dataset("train")), len(dm.dataset("val"))]) == [7, 13]


def test_pamap2_missing_files_are_named(tmp_path: Path) -> None:
    (tmp_path / "empty" / "Protocol").mkdir(parents=True)
    with pytest.raises(DataNotFoundError, match=r"Protocol: no subject1XX\.dat files"):
        Pamap2DataModule(path=str(tmp_path / "empty")).setup("fit")
    with pytest.raises(DataNotFoundError, match=r"missing: does not exist; expected the PAMAP2"):
        Pamap2DataModule(path=str(tmp_path / "missing")).setup("fit")


def test_pamap2_missing_test_subject_is_named(pamap2_root: Path) -> None:
    dm = Pamap2DataModule(path=str(pamap2_root), window=64, stride=32, test_subjects=[109])
    with pytest.raises(DataNotFoundError, match=r"no subject109\.dat.*found subjects \[101, 102\]"):
        dm.setup("test")


def test_pamap2_wrong_column_count_names_file_and_line(pamap2_root: Path) -> None:
    file = pamap2_root / "Protocol" / "subject102.dat"
    _replace_line(file, 99, " ".join(["1"] * 53))
    with pytest.raises(DataFormatError, match=r"subject102\.dat: line 100 has 53 values where 54"):
        Pamap2DataModule(path=str(pamap2_root)).setup("fit")


def test_pamap2_unknown_activity_names_file_and_line(pamap2_root: Path) -> None:
    file = pamap2_root / "Protocol" / "subject101.dat"
    _replace_line(file, 6, " ".join(["0.1", "99"] + ["1"] * 52))
    with pytest.raises(DataFormatError, match=r"subject101\.dat: line 7 has activityID 99"):
        Pamap2DataModule(path=str(pamap2_root)).setup("fit")


def test_pamap2_test_subjects_must_leave_training_subjects(pamap2_root: Path) -> None:
    dm = Pamap2DataModule(path=str(pamap2_root), test_subjects=[101, 102])
    with pytest.raises(
        ValueError, match=r"leaves no subject to train on; the subjects are \[101, 102\]"
    ):
        dm.setup("fit")


def test_pamap2_rejects_unknown_sensor_names() -> None:
    with pytest.raises(ValueError, match=r"data\.sensors must be a non-empty list of"):
        Pamap2DataModule(sensors=["acc6"])


# ----------------------------------------------------------------------------- stand-ins


@pytest.mark.parametrize(
    ("dm", "shape", "classes"),
    [
        (UciHarDataModule(), (9, 128), 6),
        (Pamap2DataModule(), (27, 128), 12),
        (Pamap2DataModule(imus=["ankle"], sensors=["acc16"], window=64), (3, 64), 12),
        (DigitsDataModule(), (64,), 10),
    ],
)
def test_modules_run_without_files(
    dm: UciHarDataModule, shape: tuple[int, ...], classes: int
) -> None:
    assert dm.input_shape == shape and dm.num_classes == classes
    dm.setup("fit")
    x, y = dm.dataset("train").tensors
    assert tuple(x.shape[1:]) == shape
    assert set(y.tolist()) == set(range(classes))
    assert 1000 < len(y) < 2000 and 300 < len(dm.dataset("val")) < 500
    # standardised with training statistics
    assert abs(float(x.mean())) < 1e-3


def test_standin_is_deterministic_for_a_seed() -> None:
    def make(seed: int) -> np.ndarray:
        args = {"num_classes": 6, "num_channels": 9, "steps": 128, "windows_per_subject": 20}
        return make_standin(subjects=[1, 2], seed=seed, **args).x

    np.testing.assert_array_equal(make(7), make(7))
    assert not np.allclose(make(7), make(8))


def test_split_follows_the_seed() -> None:
    def val_set(seed: int) -> np.ndarray:
        dm = UciHarDataModule(seed=seed)
        dm.setup("fit")
        return dm.dataset("val").tensors[0].numpy()

    np.testing.assert_array_equal(val_set(1), val_set(1))
    assert not np.array_equal(val_set(1), val_set(2))


@settings(max_examples=60, deadline=None)
@given(
    groups=st.lists(st.integers(0, 6), min_size=2, max_size=60),
    fraction=st.floats(0.05, 0.95),
    seed=st.integers(0, 2**32 - 1),
    by=st.sampled_from(["random", "subject"]),
)
def test_split_is_a_partition_that_keeps_subjects_whole(
    groups: list[int], fraction: float, seed: int, by: str
) -> None:
    g = np.asarray(groups)
    if by == "subject" and len(set(groups)) < 2:
        with pytest.raises(ValueError, match="at least 2 subjects"):
            split_indices(len(g), g, fraction, seed, "subject")
        return
    train, val = split_indices(len(g), g, fraction, seed, by)  # type: ignore[arg-type]
    assert len(train) and len(val)
    assert sorted([*train, *val]) == list(range(len(g)))
    if by == "subject":
        assert not set(g[train]) & set(g[val])


def test_standardizer_is_per_channel_and_leaves_constant_features_unscaled() -> None:
    x = np.stack([np.zeros((5, 4)), np.full((5, 4), 3.0), np.arange(20.0).reshape(5, 4)], axis=1)
    z = Standardizer.fit(x.astype(np.float32))(x.astype(np.float32))
    assert z.shape == x.shape
    assert np.allclose(z[:, 1], 0.0) and np.allclose(z[:, 0], 0.0)
    assert z[:, 2].std() == pytest.approx(1.0, rel=1e-5)
