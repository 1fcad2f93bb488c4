-- approval/wait steps (issue 12): a row is the request, written when the step starts waiting;
-- `kiln approve` / `kiln reject` (or POST .../approve|reject) write the decision once. Keyed by
-- run and task name, so a re-run attempt of the same step finds the request and its decision.
create table approvals (
    run_id       bigint not null references runs (id) on delete cascade,
    step_id      text not null,
    requested_at timestamptz not null default now(),
    deadline     timestamptz,                      -- null: waits until decided or cancelled
    decision     text check (decision in ('approved', 'rejected')),
    decided_by   text,
    reason       text,
    decided_at   timestamptz,
    primary key (run_id, step_id),
    check ((decision is null) = (decided_at is null))
);
