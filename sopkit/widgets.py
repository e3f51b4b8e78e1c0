"""Interactive editors for analysts in JupyterLab (ipywidgets).

Batch runs and reports never need these: the demand review shows the same
content as static tables and charts. In JupyterLab, with the notebook
parameter ``interactive = True``, an analyst can ask "what if this deal
closes at 90 %? a month later? for half the quantity?" and see the SKU's
consensus and its band move at once.

The computation is :meth:`DealEditor.apply` (pure: a deal's new values in, the
SKU's new consensus out); the widgets only call it.
"""

from __future__ import annotations

import pandas as pd

from sopkit.periods import cycle_month, fmt_month


class DealEditor:
    """Change one open deal and see the consensus of its SKU update.

    Parameters
    ----------
    model : sopkit.lumpy.LumpyDemandModel
        Fitted, and already used to predict this cycle (its ``open_deals_``
        are the deals offered for editing).
    forecast : DataFrame
        The statistical forecast the model blended (``StatisticalForecaster.predict()``).
    pipeline : DataFrame
        The pipeline table; edits change the latest snapshot on or before the
        cycle, in a copy.
    promotions, products : DataFrame, optional
        As given to the model's ``predict``.
    """

    def __init__(self, model, forecast, pipeline, *, promotions=None, products=None):
        self.model = model
        self.forecast = forecast
        self.pipeline = pipeline
        self.promotions = promotions
        self.products = products
        self.deals = model.open_deals_.drop_duplicates(["deal_id", "sku", "period"]).reset_index(
            drop=True)
        self.result_ = None

    def apply(self, deal_id: str, *, probability: float | None = None, qty: float | None = None,
              period=None) -> pd.DataFrame:
        """The SKU's consensus with one deal line changed.

        Parameters
        ----------
        deal_id : str
            A deal of :attr:`deals` (its first line is edited).
        probability, qty : float, optional
            The new stated probability and quantity (``None`` keeps them). The
            stated probability is calibrated like any other.
        period : str or Timestamp, optional
            The new expected month.

        Returns
        -------
        DataFrame
            The model's prediction rows of the deal's SKU (``sku, period,
            qty_stat, qty_pipeline, qty_consensus`` and the quantiles).
        """
        line = self.deals[self.deals["deal_id"] == deal_id]
        if line.empty:
            raise KeyError(f"no open deal {deal_id!r}")
        line = line.iloc[0]
        edited = self.pipeline.copy()
        snapshot = edited["snapshot"] == line["snapshot"]
        row = snapshot & (edited["deal_id"] == deal_id) & (edited["sku"] == line["sku"]) & (
            edited["period"] == line["period"])
        if probability is not None:
            if not 0 <= probability <= 1:
                raise ValueError(f"probability must be between 0 and 1, got {probability}")
            edited.loc[row, "probability"] = float(probability)
        if qty is not None:
            if qty < 0:
                raise ValueError(f"quantity must be >= 0, got {qty}")
            edited.loc[row, "qty"] = float(qty)
        if period is not None:
            edited.loc[row, "period"] = cycle_month(period)
        plan = self.model.predict(self.forecast, pipeline=edited, promotions=self.promotions,
                                  products=self.products)
        self.result_ = plan[plan["sku"] == line["sku"]].reset_index(drop=True)
        return self.result_

    def widget(self):
        """The editor as ipywidgets: pick a deal, change it, see the SKU's plan."""
        import ipywidgets as w
        from IPython.display import display as show

        from sopkit.display import line_chart, show_table

        if self.deals.empty:
            return w.HTML("<p>No open deals in the latest pipeline snapshot.</p>")
        labels = [(f"{d.deal_id} · {d.sku} · {fmt_month(d.period)} · {d.qty:,.0f} units",
                   d.deal_id) for d in self.deals.itertuples()]
        months = sorted(self.forecast["period"].unique())
        pick = w.Dropdown(options=labels, description="Deal")
        probability = w.FloatSlider(min=0, max=1, step=0.05, description="Probability",
                                    readout_format=".0%")
        qty = w.FloatText(description="Quantity")
        month = w.Dropdown(options=[(fmt_month(m), pd.Timestamp(m)) for m in months],
                           description="Month")
        out = w.Output()

        def load(_=None):
            deal = self.deals[self.deals["deal_id"] == pick.value].iloc[0]
            probability.value, qty.value = float(deal["probability"]), float(deal["qty"])
            if pd.Timestamp(deal["period"]) in [m for _, m in month.options]:
                month.value = pd.Timestamp(deal["period"])
            redraw()

        def redraw(_=None):
            plan = self.apply(pick.value, probability=probability.value, qty=qty.value,
                              period=month.value)
            out.clear_output(wait=True)
            with out:
                show(line_chart(plan, x="period", y=["qty_stat", "qty_consensus"],
                                band=("qty_q10", "qty_q90"), title=f"{plan['sku'].iloc[0]}: "
                                "consensus with the deal as edited", ylabel="units"))
                show(show_table(plan[["period", "qty_stat", "qty_pipeline", "qty_consensus",
                                      "qty_q10", "qty_q90"]], max_rows=None))

        pick.observe(load, names="value")
        for control in (probability, qty, month):
            control.observe(redraw, names="value")
        load()
        return w.VBox([pick, w.HBox([probability, qty, month]), out])
