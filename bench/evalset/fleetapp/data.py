"""Data: frames and arrays for analytics (pandas, numpy)."""

from __future__ import annotations

from typing import Any

from fleetapp.registry import bug, need


def _frame(v: str) -> Any:
    need("pandas")
    import pandas as pd

    return pd.DataFrame({"customer": [v, "bob"], "total": [1, 2], "day": ["2024-01-01", "2024-01-02"]})


@bug("pandas")
def revenue_column(v: str) -> Any:
    return _frame(v)["revenue"]


@bug("pandas")
def revenue_by_region(v: str) -> Any:
    return _frame(v).groupby("region").sum()


@bug("pandas")
def merge_customers(v: str) -> Any:
    import pandas as pd

    return _frame(v).merge(pd.DataFrame({"id": [1]}), on="customer_id")


@bug("pandas")
def parse_days(v: str) -> Any:
    import pandas as pd

    return pd.to_datetime(pd.Series([v, "2024-13-45"]), format="%Y-%m-%d")


@bug("pandas")
def totals_as_int(v: str) -> Any:
    frame = _frame(v)
    frame.loc[0, "total"] = None
    return frame["total"].astype("int64")


@bug("pandas")
def set_customer_index(v: str) -> Any:
    return _frame(v).set_index("customer").loc["carol"]


@bug("pandas")
def concat_frames(v: str) -> Any:
    import pandas as pd

    return pd.concat([])


@bug("pandas")
def read_export(v: str) -> Any:
    import io

    import pandas as pd

    return pd.read_csv(io.StringIO(f'a,b\n1,"{v}\n'))


@bug("pandas")
def pivot_sales(v: str) -> Any:
    frame = _frame(v)
    frame = frame._append(frame)
    return frame.pivot(index="customer", columns="day", values="total")


@bug("pandas")
def frame_truth(v: str) -> Any:
    return bool(_frame(v)["total"] > 1)


@bug("numpy")
def weights_matrix(v: str) -> Any:
    need("numpy")
    import numpy as np

    return np.ones((2, 3)) @ np.ones((2, 3))


@bug("numpy")
def reshape_scores(v: str) -> Any:
    need("numpy")
    import numpy as np

    return np.arange(len(v) + 7).reshape(3, 3)


@bug("numpy")
def invert_weights(v: str) -> Any:
    need("numpy")
    import numpy as np

    return np.linalg.inv(np.zeros((2, 2)))


@bug("numpy")
def scores_as_float(v: str) -> Any:
    need("numpy")
    import numpy as np

    return np.array([v, "x"]).astype(float)


@bug("numpy")
def score_at(v: str) -> Any:
    need("numpy")
    import numpy as np

    return np.zeros(3)[len(v) + 10]
