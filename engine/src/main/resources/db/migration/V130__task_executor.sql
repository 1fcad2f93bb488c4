-- The executor a task's step requires (`executor:` in the DSL; null: any worker may run it). A
-- worker's claim adds `and (executor is null or executor = any(?))` for the executors it has, a
-- filter on the rows the claim indexes (V8, V115) already yield, so the claim stays an index scan
-- that stops after LIMIT rows (docs/executors.md, "Choosing the executor per step").
alter table tasks add column executor text;
