"""Train a classifier with the config composed by Hydra from ``conf/``.

python train.py                                   # cnn_tcn on the UCI HAR stand-in
python train.py data=pamap2 model=cnn_bilstm      # swap config groups
python train.py -m model=cnn_tcn,mlp seed=1,2     # a multirun: one job per combination
"""

from __future__ import annotations

import hydra
from omegaconf import DictConfig


@hydra.main(version_base="1.3", config_path="conf", config_name="config")
def main(cfg: DictConfig) -> dict[str, float]:
    """Run one training job and return its final metrics.

    Returns the dict of final validation metrics (``val/acc``, ``val/f1``, ``val/loss``, and
    the ``train/*`` epoch metrics) as floats; it always contains ``cfg.optimized_metric``.
    A sweeper reads its ``metric.name`` from this dict.
    """
    # Imported here so that `python train.py --help` or `--cfg job` answer without loading torch.
    from trainapp.train import train

    return train(cfg)


if __name__ == "__main__":
    main()
