-- What a built-in step did outside its own task (a model version registered, an alias moved, a
-- child run started, a webhook delivered), keyed by the task: an attempt re-run after a lost one
-- finds the first attempt's result here instead of doing it again. Written in the transaction that
-- does the effect, so the effect and its row exist together or not at all.
create table side_effects (
  task_id bigint not null references tasks (id) on delete cascade,
  effect text not null,
  result jsonb not null,
  attempt int not null,
  at timestamptz not null default now(),
  primary key (task_id, effect)
);
