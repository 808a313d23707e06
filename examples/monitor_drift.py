"""Train on S&P 500 bars 1999-2014, then monitor 2015-2018: drift, metrics, alerts, report."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from mltrainer import Trainer, load_bars, load_config
from mltrainer.monitor import history, monitor
from mltrainer.store import open_store


def main(workdir: Path) -> None:
    config = load_config(
        Path(__file__).with_name("sp500_direction.yaml"),
        overrides=[
            f"registry.root={workdir / 'models'}",
            f"store.url=sqlite:///{workdir / 'mltrainer.db'}",
            "data.end=2014-12-31",
            "model.type=logistic",
            "model.params={}",
            # fire when half of the features drift; then keep quiet for a day
            "monitor.rules=[{name: drifting, metric: drift.share_drifted, op: above,"
            " threshold: 0.5, cooldown: 1D}]",
        ],
    )
    Trainer(config).run()
    bars = load_bars("sp500", start="2015-01-01")
    for year in (2015, 2016, 2017, 2018):  # one monitoring run per year of new bars
        start = bars.index.searchsorted(f"{year}-01-01")
        window = bars.iloc[max(start - 70, 0) : bars.index.searchsorted(f"{year + 1}-01-01")]
        result = monitor(  # the 70 bars before January are the features' warm-up
            config.name,
            bars=window,
            config=config,
            timestamp=f"{year}-12-31",
            report=workdir / "report.html" if year == 2018 else None,
        )
        print(
            f"{year}: accuracy {result.metrics.get('accuracy', float('nan')):.3f},"
            f" {len(result.drifted)} features drifted, alerts {[a.rule for a in result.alerts]}"
        )
    with open_store(config.store.url, prefix=config.store.prefix) as store:
        print(history(store, config.name, "drift.share_drifted"))


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tmp))
