"""Example queries over the store's views, exactly as the README shows them (tests run these very strings).

Each is plain SQL that runs unchanged on SQLite and PostgreSQL, e.g. ``sqlite3 .bon/bon.db < query`` or
``session.execute(text(MISSED_SELECTIONS))``.
"""

from __future__ import annotations

# Problems where a correct candidate was among the first N but the strategy selected a wrong (or no) answer.
MISSED_SELECTIONS = """\
SELECT run_name, source_id, strategy, scorer_name, n, selected_answer, reference, num_correct_available
FROM v_missed_selections
ORDER BY run_name, source_id, strategy, n;"""

# Step-score distribution of correct vs incorrect (vs neutral) gold-labelled steps, per scorer.
STEP_SCORE_BY_LABEL = """\
SELECT scorer_name, scorer_version, label, COUNT(*) AS num_steps,
       AVG(score) AS mean_score, MIN(score) AS min_score, MAX(score) AS max_score
FROM v_step_score_by_label
WHERE label IS NOT NULL
GROUP BY scorer_name, scorer_version, label
ORDER BY scorer_name, scorer_version, label;"""

# Best-of-N accuracy (with its 95% CI) as N grows, per run, strategy, scorer and aggregation.
BEST_AT_N = """\
SELECT run_name, strategy, scorer, aggregation, n, value, ci_low, ci_high, method, ci_method
FROM v_best_at_n
WHERE metric = 'accuracy'
ORDER BY run_name, strategy, scorer, aggregation, n;"""

EXAMPLE_QUERIES: dict[str, str] = {
    "missed_selections": MISSED_SELECTIONS,
    "step_score_by_label": STEP_SCORE_BY_LABEL,
    "best_at_n": BEST_AT_N,
}

VIEWS: tuple[str, ...] = (
    "v_candidate_summary",
    "v_problem_summary",
    "v_missed_selections",
    "v_step_score_by_label",
    "v_best_at_n",
)
