-- The claim orders ready tasks by (not_before, id) and filters by queue = ANY(...): an index in
-- that order lets it stop after LIMIT rows instead of sorting every queued task (EXPLAIN at
-- 100,000 queued tasks: a sequential scan and sort before, an index scan after).
drop index tasks_ready;
create index tasks_claimable on tasks (not_before, id) include (queue) where status = 'queued';
-- Foreign keys need an index on the referencing side, or deleting tasks scans them all.
create index tasks_reused_from on tasks (reused_from) where reused_from is not null;
