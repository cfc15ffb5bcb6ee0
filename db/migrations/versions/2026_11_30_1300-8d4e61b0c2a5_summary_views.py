"""Summary views: candidates, per-problem pools, missed selections, step score vs gold label, best@N.

Why: the questions asked of every run (where did selection miss a correct candidate, do a scorer's step scores
separate correct from incorrect steps, how does accuracy grow with N per strategy) should each be one short
query. The SQL is plain enough to run unchanged on SQLite and PostgreSQL. A candidate counts as available to a
selection at N when its ``sample_index < n`` (selections use each problem's first N samples).

Revision ID: 8d4e61b0c2a5
Revises: 3f1c2a9e7b10
Create Date: 2026-11-30 13:00:00
"""

from __future__ import annotations

from alembic import op

revision: str = "8d4e61b0c2a5"
down_revision: str | None = "3f1c2a9e7b10"
branch_labels: str | None = None
depends_on: str | None = None

# Frozen copies: a migration must keep meaning what it meant when written, whatever the code does later.
VIEWS: dict[str, str] = {
    "v_candidate_summary": """
        SELECT c.id AS candidate_id, r.id AS run_id, r.name AS run_name, p.id AS problem_id, p.task, p.source_id,
               c.sample_index, c.answer, p.reference, c.correct, c.num_tokens, c.mean_logprob, c.finish_reason,
               (SELECT COUNT(*) FROM steps s WHERE s.candidate_id = c.id) AS num_steps,
               (SELECT MIN(s.step_index) FROM steps s
                 WHERE s.candidate_id = c.id AND s.label = 'incorrect') AS first_incorrect_step
        FROM candidates c
        JOIN runs r ON r.id = c.run_id
        JOIN problems p ON p.id = c.problem_id
    """,
    "v_problem_summary": """
        SELECT r.id AS run_id, r.name AS run_name, p.id AS problem_id, p.task, p.source_id,
               COUNT(*) AS num_candidates,
               COUNT(c.correct) AS num_graded,
               SUM(CASE WHEN c.correct THEN 1 ELSE 0 END) AS num_correct,
               SUM(c.num_tokens) AS total_tokens
        FROM candidates c
        JOIN runs r ON r.id = c.run_id
        JOIN problems p ON p.id = c.problem_id
        GROUP BY r.id, r.name, p.id, p.task, p.source_id
    """,
    "v_missed_selections": """
        SELECT s.id AS selection_id, r.id AS run_id, r.name AS run_name, p.id AS problem_id, p.task, p.source_id,
               s.strategy, s.scorer_id, sc.name AS scorer_name, s.config_key, s.n, s.sample_index,
               s.answer AS selected_answer, p.reference,
               (SELECT COUNT(*) FROM candidates c
                 WHERE c.run_id = s.run_id AND c.problem_id = s.problem_id
                   AND c.sample_index < s.n AND c.correct = TRUE) AS num_correct_available
        FROM selections s
        JOIN runs r ON r.id = s.run_id
        JOIN problems p ON p.id = s.problem_id
        LEFT JOIN scorers sc ON sc.id = s.scorer_id
        WHERE s.correct IS NOT TRUE
          AND EXISTS (SELECT 1 FROM candidates c
                       WHERE c.run_id = s.run_id AND c.problem_id = s.problem_id
                         AND c.sample_index < s.n AND c.correct = TRUE)
    """,
    "v_step_score_by_label": """
        SELECT ss.scorer_id, sc.kind AS scorer_kind, sc.name AS scorer_name, sc.version AS scorer_version,
               r.id AS run_id, r.name AS run_name, p.task, p.source_id, c.sample_index, ss.candidate_id,
               ss.step_index, st.label, c.correct AS candidate_correct, ss.score
        FROM step_scores ss
        JOIN steps st ON st.candidate_id = ss.candidate_id AND st.step_index = ss.step_index
        JOIN candidates c ON c.id = ss.candidate_id
        JOIN runs r ON r.id = c.run_id
        JOIN problems p ON p.id = c.problem_id
        JOIN scorers sc ON sc.id = ss.scorer_id
    """,
    "v_best_at_n": """
        SELECT e.run_id, r.name AS run_name, e.strategy, e.scorer, e.scorer_id, sc.version AS scorer_version,
               e.aggregation, e.metric, e.n, e.value, e.ci_low, e.ci_high, e.policy_tokens, e.scorer_tokens
        FROM evaluations e
        JOIN runs r ON r.id = e.run_id
        LEFT JOIN scorers sc ON sc.id = e.scorer_id
    """,
}


def upgrade() -> None:
    """Create the views."""
    for name, body in VIEWS.items():
        op.execute(f"CREATE VIEW {name} AS {body.strip()}")


def downgrade() -> None:
    """Drop the views, newest first."""
    for name in reversed(VIEWS):
        op.execute(f"DROP VIEW {name}")
