-- One one-step run as the store sees it at the least (bench/floor/run.sh): queued with its task,
-- claimed, finished; three committed transactions, synchronous_commit as the server has it.
begin;
with r as (insert into runs (status) values ('queued') returning id),
 t as (insert into tasks (run_id, step_id, status, spec)
       select id, 'a', 'queued', '{"run":"true","env":{}}' from r returning id, run_id),
 e as (insert into events (run_id, step_id, status) select run_id, 'a', 'queued' from t)
select id as tid, run_id as rid from t \gset
commit;
begin;
update tasks set status = 'running', attempt = attempt + 1, worker = 'w',
       lease_until = now() + interval '1 minute'
 where id = :tid and status = 'queued';
insert into events (run_id, step_id, status) values (:rid, 'a', 'running');
commit;
begin;
select status from runs where id = :rid for no key update;
update tasks set status = 'succeeded' where id = :tid and worker = 'w';
update runs set status = 'succeeded', finished = now() where id = :rid;
insert into events (run_id, step_id, status) values (:rid, 'a', 'succeeded');
commit;
