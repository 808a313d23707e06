"""Train on bundled S&P 500 bars, reload the model and predict: the README's quick start."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from mltrainer import Trainer, load_bars, load_config, load_model, predict_bars


def main(workdir: Path) -> None:
    config = load_config(
        Path(__file__).with_name("sp500_direction.yaml"),
        overrides=[
            f"registry.root={workdir / 'models'}",
            f"store.url=sqlite:///{workdir / 'mltrainer.db'}",
            "model.params.n_estimators=100",
        ],
    )
    result = Trainer(config).run()
    print(result.folds[["split", "roc_auc", "n_train", "n_test", "n_purged"]])
    print(f"mean ROC AUC {result.mean_scores['roc_auc']:.3f}, saved to {result.path}")

    model = load_model(config.name, root=workdir / "models")  # checksums verified
    bars = load_bars("sp500", start="2018-01-01")
    print(predict_bars(model, bars).tail())


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tmp))
