-- A backlog must not slow the claim. tasks_claimable (not_before, id) serves a claim whose queues
-- hold the oldest tasks, but it walks past every older task of other queues or other runs:
-- EXPLAIN ANALYZE with 100,000 tasks waiting in a queue nobody serves, 80-600 ms a claim of the
-- 'default' queue (Rows Removed by Filter: 100000); with 100,000 tasks of other runs queued, a
-- `kiln run`'s claim of its own run's tasks took 335 ms. With these two, both are index scans that
-- stop after LIMIT rows (0.05-0.1 ms); the claim of one queue says `queue = ?` so that the planner
-- can use the first (docs/benchmarks.md, "Backlog").
create index tasks_claimable_in_queue on tasks (queue, not_before, id) where status = 'queued';
create index tasks_claimable_in_run on tasks (run_id, not_before, id) where status = 'queued';
