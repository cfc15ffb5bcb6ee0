"""MLflow "model from code" for a bon PRM: the pyfunc flavour that round-trips the PRM with its head and format.

``predict`` takes a DataFrame with columns ``problem`` (a string) and ``steps`` (a list of step strings per row)
and returns one list of step scores per row. Logged by :func:`flows.registry.log_prm` with a signature, an input
example, ``bon_core`` as code and pinned requirements; the PRM directory itself travels as the artifact ``prm`` so
``bon_core.prm.load_prm`` can also read it directly.
"""

from __future__ import annotations

import mlflow
import pandas as pd


class PRMPyfunc(mlflow.pyfunc.PythonModel):
    def load_context(self, context):  # noqa: ANN001 - MLflow's signature
        from bon_core.prm import load_prm

        self.prm = load_prm(context.artifacts["prm"])

    # The DataFrame hint: the schema comes from the signature logged with the model, not from type hints.
    def predict(self, context, model_input: pd.DataFrame, params=None):  # noqa: ANN001
        problems = [str(p) for p in model_input["problem"]]
        steps = [[str(s) for s in row] for row in model_input["steps"]]
        return self.prm.score(problems, steps)


mlflow.models.set_model(PRMPyfunc())
