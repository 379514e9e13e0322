"""``ForecastConfig``: how a series is split, windowed, evaluated and compared; JSON round trip.

The model has its own config (:class:`~rnnlab.models.forecasters.ForecasterConfig`) and the
optimisation its own (:class:`~rnnlab.train.config.TrainConfig`, shared with language models).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from rnnlab.config import from_dict_strict
from rnnlab.errors import ConfigError
from rnnlab.forecast.metrics import check_quantiles
from rnnlab.train.config import TrainConfig

DEFAULT_HORIZONS: tuple[int, ...] = (1, 4, 16, 64)
DEFAULT_QUANTILES: tuple[float, ...] = (0.1, 0.5, 0.9)


@dataclass
class ForecastConfig:
    """Settings of a forecasting experiment; ``to_dict``/``from_dict`` round-trip through JSON."""

    horizon: int = 16  # k of the k-step predictions drawn, and the direct head's H with `direct`
    horizons: list[int] = field(default_factory=lambda: list(DEFAULT_HORIZONS))  # k scored in the table
    valid_fraction: float = 0.1  # the part before test used to pick the best epoch (by time)
    test_fraction: float = 0.2  # the last part of the series, where forecasts are scored
    window: int = (
        256  # training window length L (BPTT length), warm-up included; long enough to see slow cycles
    )
    warmup: int = 64  # first predictions of a fresh state left out of the loss (state still forming)
    difference: bool = False  # model the changes x_t − x_{t−1} (trending series such as CO₂)
    direct: bool = False  # also train a direct multi-output head predicting x_{t+1 … t+horizon} at once
    season: int | None = None  # seasonal period for seasonal naive / ARIMA; None = the series' own
    arima_order: list[int] | None = None  # (p, d, q) of the statsmodels baseline; None = chosen by season
    seed: int = 0  # seeds the synthetic series' noise and the forecast samples (the model: TrainConfig)
    quantiles: list[float] | None = None  # levels reported by probabilistic models; None = 0.1, 0.5, 0.9
    samples: int = 200  # sampled paths per origin of a probabilistic model (CRPS, quantiles, median)
    select_by: int | None = None  # choose the model by validation MSE at this horizon (rolling origins)
    calibrate: bool = False  # also report each probabilistic model with σ rescaled on validation
    without_covariates: bool = True  # with covariates, also train each model on the target alone
    covariate_weight: float = 1.0  # point models: weight of the predicted past covariates in the loss
    exog_lags: int = 4  # ARIMAX regressors: past covariates at lags 1 … m
    var_max_lags: int = 8  # the VAR's lag order is chosen by AIC up to this

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ConfigError naming the first invalid value and what would be valid."""
        for name in ("horizon", "window"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")
        if not isinstance(self.warmup, int) or not 0 <= self.warmup < self.window:
            raise ConfigError(f"warmup must be an integer in [0, window={self.window}), got {self.warmup!r}")
        if not self.horizons or any(not isinstance(k, int) or k < 1 for k in self.horizons):
            raise ConfigError(
                f"horizons must be a non-empty list of positive integers, got {self.horizons!r}"
            )
        if self.season is not None and (not isinstance(self.season, int) or self.season < 2):
            raise ConfigError(f"season must be an integer ≥ 2 (or null for none), got {self.season!r}")
        if self.arima_order is not None and (
            len(self.arima_order) != 3 or any(not isinstance(v, int) or v < 0 for v in self.arima_order)
        ):
            raise ConfigError(f"arima_order must be three integers [p, d, q] ≥ 0, got {self.arima_order!r}")
        for name in ("samples", "exog_lags", "var_max_lags"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")
        if self.samples < 2:
            raise ConfigError(
                f"samples must be ≥ 2 (CRPS compares samples with each other), got {self.samples}"
            )
        if (
            isinstance(self.covariate_weight, bool)
            or not isinstance(self.covariate_weight, (int, float))
            or not (0 < self.covariate_weight <= 1)
        ):
            raise ConfigError(f"covariate_weight must lie in (0, 1], got {self.covariate_weight!r}")
        if self.quantiles is not None:
            self.quantiles = check_quantiles([float(q) for q in self.quantiles])
        if self.select_by is not None and (not isinstance(self.select_by, int) or self.select_by < 1):
            raise ConfigError(f"select_by must be a horizon ≥ 1 (or null), got {self.select_by!r}")

    @property
    def all_horizons(self) -> list[int]:
        """The scored horizons plus ``horizon`` and ``select_by``, sorted."""
        extra = {self.select_by} if self.select_by is not None else set()
        return sorted({*self.horizons, self.horizon, *extra})

    @property
    def quantile_levels(self) -> list[float]:
        return self.quantiles if self.quantiles is not None else list(DEFAULT_QUANTILES)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ForecastConfig:
        """Build from a JSON dict, rejecting unknown keys with the list of valid ones."""
        return from_dict_strict(cls, data, "forecast option")


def default_train_config(**overrides: Any) -> TrainConfig:
    """Training settings that suit small univariate series (the language-model defaults do not).

    Small models and few windows: Adam at 1e-2 with cosine decay converges in a few hundred
    updates; no weight decay (it pulls the AR weights towards predicting the mean); no log lines
    between epochs (the progress bar shows the loss).
    """
    settings: dict[str, Any] = {
        "optimizer": "adam",
        "lr": 1e-2,
        "weight_decay": 0.0,
        "schedule": "cosine",
        "warmup_steps": 20,
        "batch_size": 32,
        "epochs": 30,
        "log_every": 1000,
        "device": "cpu",
        "sampling": "random",
    }
    settings.update(overrides)
    return TrainConfig(**settings)
