-- Grain: one row per (conversation, agent) inspected in [$start, $end).
-- Score = 100 - Σ per rule min(Σ deductions, $rule_cap); a red-line finding fails the
-- conversation for that agent (0). Dismissed findings (or appeals upheld) deduct nothing.
-- Repeat offences: a finding's deduction is multiplied by a tier of the agent's earlier
-- findings of the same rule within $window_s seconds before the chat (chat time).
-- $over = 'sampled': only conversations a QC specialist sampled — drawn into spot_checks
-- (抽检) or holding a reviewed finding — are scored; 'inspected': every inspected one.
CREATE OR REPLACE TEMP TABLE quality_scores AS
WITH latest AS (
    SELECT finding_id, decision FROM review_latest   -- the store's one definition of 'latest'
), f AS (
    SELECT f.finding_id, f.conversation_id, f.agent_id, f.rule_id, f.severity, f.category,
           epoch(c.started_at) AS t
    FROM findings f
    JOIN conversations c USING (conversation_id)
    LEFT JOIN latest r USING (finding_id)
    WHERE f.agent_id IS NOT NULL
      AND coalesce(r.decision, 'pending') NOT IN ('dismissed', 'appeal_upheld')
      AND c.day < $end AND c.day >= $start::DATE - to_days($window_days::INTEGER)
), prior AS (
    SELECT *,
        count(*) OVER (PARTITION BY agent_id, rule_id ORDER BY t
                       RANGE BETWEEN $window_s PRECEDING AND 0.000001 PRECEDING) AS prior
    FROM f
), ded AS (
    SELECT p.*, d.points * (
        SELECT arg_max(m.multiplier, m.min_prior) FROM repeat_tiers m WHERE m.min_prior <= p.prior
    ) AS deduction
    FROM prior p JOIN deduction_points d USING (severity)
), per_rule AS (
    SELECT conversation_id, agent_id, rule_id,
           least(sum(deduction), $rule_cap) AS deducted, bool_or(severity = 'redline') AS redline
    FROM ded GROUP BY ALL
), sampled AS (
    SELECT conversation_id FROM spot_checks
    UNION
    SELECT f.conversation_id FROM findings f JOIN reviews r USING (finding_id)
), pairs AS (
    SELECT DISTINCT c.conversation_id, unnest(c.agents) AS agent_id, c.day
    FROM conversations c
    WHERE c.day >= $start AND c.day < $end AND NOT c.needs_inspection
      AND ($over = 'inspected' OR c.conversation_id IN (SELECT conversation_id FROM sampled))
)
SELECT p.conversation_id, p.agent_id, p.day,
       CASE WHEN bool_or(coalesce(r.redline, false)) THEN 0.0
            ELSE greatest(0.0, 100.0 - coalesce(sum(r.deducted), 0.0)) END AS score,
       bool_or(coalesce(r.redline, false)) AS redline
FROM pairs p
LEFT JOIN per_rule r ON r.conversation_id = p.conversation_id AND r.agent_id = p.agent_id
GROUP BY ALL;
