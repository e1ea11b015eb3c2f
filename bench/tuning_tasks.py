"""The objectives of the search-quality suite: three synthetic functions and three small
tuning tasks that train real models offline on scikit-learn's bundled datasets.

Each task is a W&B ``parameters`` block and a function of one trial's values that returns a
loss to minimise. The tuning tasks are deterministic (fixed splits, fixed model seeds), so
the same values always give the same loss, and each evaluation takes a fraction of a second
on one core. Their optimum is not known in closed form: the suite takes the lowest loss any
method ever reached on the task as the reference (see ``search_suite.py``).
"""

from __future__ import annotations

import math
import sys
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

# one BLAS thread: the models are small, and the suite's runs share a loaded machine
threadpool_limits(1)

Params = Mapping[str, Any]


@dataclass(frozen=True)
class Task:
    name: str
    objective: Callable[[Params], float]
    parameters: dict[str, Any]
    optimum: float | None  # None: the lowest loss seen by any method


# --- synthetic functions -------------------------------------------------------------------
def branin(p: Params) -> float:
    x1, x2 = p["x1"], p["x2"]
    b, c = 5.1 / (4 * math.pi**2), 5 / math.pi
    return (x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - 1 / (8 * math.pi)) * math.cos(x1) + 10


_H6_A = np.array(
    [
        [10, 3, 17, 3.5, 1.7, 8],
        [0.05, 10, 17, 0.1, 8, 14],
        [3, 3.5, 1.7, 10, 17, 8],
        [17, 8, 0.05, 10, 0.1, 14],
    ]
)
_H6_P = 1e-4 * np.array(
    [
        [1312, 1696, 5569, 124, 8283, 5886],
        [2329, 4135, 8307, 3736, 1004, 9991],
        [2348, 1451, 3522, 2883, 3047, 6650],
        [4047, 8828, 8732, 5743, 1091, 381],
    ]
)
_H6_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])


def hartmann6(p: Params) -> float:
    x = np.array([p[f"x{i}"] for i in range(1, 7)])
    return float(-np.sum(_H6_ALPHA * np.exp(-np.sum(_H6_A * (x - _H6_P) ** 2, axis=1))))


# A training-like space: the best learning rate depends on the model (a config group).
_MODEL_OFFSET = {"cnn_tcn": 0.0, "cnn_bilstm": 0.1, "mlp": 0.3}
_MODEL_BEST_LOG_LR = {"cnn_tcn": -3.0, "cnn_bilstm": -3.5, "mlp": -2.0}
_OPTIMIZER_OFFSET = {"adamw": 0.0, "rmsprop": 0.15, "sgd": 0.4}


def mixed(p: Params) -> float:
    model = p["model"]
    lr_term = ((math.log10(p["optimizer.lr"]) - _MODEL_BEST_LOG_LR[model]) / 2) ** 2
    dropout_term = 0.5 * ((p["model.dropout"] - 0.25) / 0.25) ** 2
    layers_term = 0.5 * ((p["model.layers"] - 5) / 4) ** 2
    return (
        _MODEL_OFFSET[model]
        + _OPTIMIZER_OFFSET[p["optimizer.name"]]
        + lr_term
        + dropout_term
        + layers_term
    )


MIXED_PARAMETERS: dict[str, Any] = {
    "optimizer.lr": {"distribution": "log_uniform_values", "min": 1e-5, "max": 1e-1},
    "model.dropout": {"min": 0.0, "max": 0.5},
    "model.layers": {"min": 1, "max": 8},
    "optimizer.name": {"values": ["adamw", "sgd", "rmsprop"]},
    "model": {"values": ["cnn_tcn", "cnn_bilstm", "mlp"]},
}


# --- real tuning tasks ---------------------------------------------------------------------
@cache
def _split(dataset: str, scale: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    from sklearn import datasets
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    loader = {
        "digits": datasets.load_digits,
        "breast_cancer": datasets.load_breast_cancer,
        "wine": datasets.load_wine,
    }[dataset]
    x, y = loader(return_X_y=True)
    x_train, x_val, y_train, y_val = train_test_split(
        x, y, test_size=0.3, random_state=0, stratify=y
    )
    if scale:
        scaler = StandardScaler().fit(x_train)
        x_train, x_val = scaler.transform(x_train), scaler.transform(x_val)
    return x_train, x_val, y_train, y_val


def _log_loss(y_true: np.ndarray, probabilities: np.ndarray, labels: np.ndarray) -> float:
    """Cross-entropy, each probability kept at or above 1e-6 (a tree's 0 is not infinite)."""
    column = np.searchsorted(labels, y_true)
    picked = probabilities[np.arange(len(y_true)), column]
    return float(-np.mean(np.log(np.clip(picked, 1e-6, 1.0))))


def mlp_digits(p: Params) -> float:
    """Validation cross-entropy of a one-hidden-layer network trained with Adam for 15 epochs."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    x_train, x_val, y_train, y_val = _split("digits", True)
    model = MLPClassifier(
        hidden_layer_sizes=(int(p["hidden"]),),
        activation=p["activation"],
        learning_rate_init=p["lr"],
        alpha=p["weight_decay"],
        batch_size=int(p["batch_size"]),
        max_iter=15,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(x_train, y_train)
    return _log_loss(y_val, model.predict_proba(x_val), model.classes_)


def svc_breast_cancer(p: Params) -> float:
    """1 - ROC AUC on held-out data of an RBF support-vector classifier."""
    from sklearn.metrics import roc_auc_score
    from sklearn.svm import SVC

    x_train, x_val, y_train, y_val = _split("breast_cancer", True)
    model = SVC(C=p["C"], gamma=p["gamma"]).fit(x_train, y_train)
    return 1.0 - float(roc_auc_score(y_val, model.decision_function(x_val)))


def rf_wine(p: Params) -> float:
    """Validation cross-entropy of a 30-tree random forest."""
    from sklearn.ensemble import RandomForestClassifier

    x_train, x_val, y_train, y_val = _split("wine", False)
    model = RandomForestClassifier(
        n_estimators=30,
        max_depth=int(p["max_depth"]),
        min_samples_leaf=int(p["min_samples_leaf"]),
        max_features=p["max_features"],
        criterion=p["criterion"],
        random_state=0,
    ).fit(x_train, y_train)
    return _log_loss(y_val, model.predict_proba(x_val), model.classes_)


# --- the example Lightning app ---------------------------------------------------------------
_ROOT = Path(__file__).resolve().parents[1]


def har_app(p: Params) -> float:
    """1 - val/acc of the example app (train.py) on the generated UCI HAR stand-in, 4 epochs,
    with the search space of ``sweep=quick``: the app's own training, composed by Hydra as a
    trial's job is, without a logger. Seconds per evaluation, not a fraction of one."""
    import logging
    import tempfile

    from hydra import compose, initialize_config_dir
    from hydra.core.hydra_config import HydraConfig

    if str(_ROOT) not in sys.path:
        sys.path.insert(0, str(_ROOT))
    from trainapp.train import train

    for name in ("lightning", "lightning.pytorch", "lightning.fabric"):
        logging.getLogger(name).setLevel(logging.ERROR)
    overrides = [f"{key}={value}" for key, value in sorted(p.items())]
    with (
        tempfile.TemporaryDirectory() as folder,
        initialize_config_dir(config_dir=str(_ROOT / "conf"), version_base="1.3"),
    ):
        config = compose(
            "config",
            return_hydra_config=True,
            overrides=[
                "logger=none",
                "trainer.max_epochs=4",
                "trainer.enable_progress_bar=false",
                f"hydra.run.dir={folder}",
                *overrides,
            ],
        )
        HydraConfig.instance().set_config(config)
        metrics = train(config)
    return 1.0 - float(metrics["val/acc"])


# Tasks that take minutes per run: run only when named (--tasks har_app), never by "all".
SLOW_TASKS = ("har_app",)

TASKS: dict[str, Task] = {
    task.name: task
    for task in (
        Task(
            "branin",
            branin,
            {"x1": {"min": -5.0, "max": 10.0}, "x2": {"min": 0.0, "max": 15.0}},
            0.397887,
        ),
        Task(
            "hartmann6",
            hartmann6,
            {f"x{i}": {"min": 0.0, "max": 1.0} for i in range(1, 7)},
            -3.32237,
        ),
        Task("mixed", mixed, MIXED_PARAMETERS, 0.0),
        Task(
            "mlp_digits",
            mlp_digits,
            {
                "lr": {"distribution": "log_uniform_values", "min": 1e-4, "max": 1e-1},
                "weight_decay": {"distribution": "log_uniform_values", "min": 1e-6, "max": 1e-1},
                "hidden": {"distribution": "q_log_uniform_values", "min": 8, "max": 128, "q": 1},
                "batch_size": {"values": [32, 64, 128, 256]},
                "activation": {"values": ["relu", "tanh", "logistic"]},
            },
            None,
        ),
        Task(
            "svc_breast_cancer",
            svc_breast_cancer,
            {
                "C": {"distribution": "log_uniform_values", "min": 1e-3, "max": 1e3},
                "gamma": {"distribution": "log_uniform_values", "min": 1e-5, "max": 10.0},
            },
            None,
        ),
        Task(
            "rf_wine",
            rf_wine,
            {
                "max_depth": {"min": 1, "max": 12},
                "min_samples_leaf": {"min": 1, "max": 20},
                "max_features": {"min": 0.05, "max": 1.0},
                "criterion": {"values": ["gini", "entropy"]},
            },
            None,
        ),
        Task(
            "har_app",
            har_app,
            {
                "model": {"values": ["cnn_tcn", "cnn_bilstm"]},
                "optimizer.lr": {
                    "distribution": "log_uniform_values",
                    "min": 3.0e-4,
                    "max": 3.0e-2,
                },
                "model.dropout": {"distribution": "uniform", "min": 0.1, "max": 0.5},
            },
            None,
        ),
    )
}
