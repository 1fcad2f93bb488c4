-- cache: true. A task of such a step records the sha256 key of its inputs when it succeeds. A task
-- that ran (reused_from is null) is a cache entry; a later task with the same key takes its result
-- instead of running and points at it with reused_from (a hit keeps the key, which tells it from
-- a copy made by kiln retry). Failed, cancelled and timed-out tasks never record a key.
alter table tasks add column cache_key text;
-- kiln run --no-cache: the run's steps do not read the cache (their results are still recorded).
alter table runs add column no_cache boolean not null default false;
-- The lookup: the newest entry with a key. No unique constraint: two runs that miss on the same
-- key at once both run and both become entries.
create index tasks_cache_entries on tasks (cache_key, id desc)
    where cache_key is not null and status = 'succeeded' and reused_from is null;
