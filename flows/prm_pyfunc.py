"""MLflow "model from code" for a bon PRM: the pyfunc flavour that round-trips the PRM with its head and format.

``predict`` takes a DataFrame with columns ``problem`` and ``steps`` (a list of step strings per row) and returns
one list of step scores per row. Logged by :func:`flows.registry.log_prm`; the PRM directory itself travels as
the artifact ``prm`` so ``bon_core.prm.load_prm`` can also read it directly.
"""

from __future__ import annotations

import mlflow
import pandas as pd


class PRMPyfunc(mlflow.pyfunc.PythonModel):
    def load_context(self, context):  # noqa: ANN001 - MLflow's signature
        from bon_core.prm import load_prm

        self.prm = load_prm(context.artifacts["prm"])

    # The DataFrame hint tells MLflow there is no schema to infer or validate (without a hint it warns on every log).
    def predict(self, context, model_input: pd.DataFrame, params=None):  # noqa: ANN001
        problems = list(model_input["problem"])
        steps = [list(s) for s in model_input["steps"]]
        return self.prm.score(problems, steps)


mlflow.models.set_model(PRMPyfunc())
