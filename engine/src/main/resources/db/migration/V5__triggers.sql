-- Triggers (issue 4): the time a schedule meant a run for, the keys that make a trigger start a
-- run at most once (webhook delivery id, file, cron firing), and firings that started nothing.

alter table runs add column scheduled_at timestamptz;

create table trigger_keys (
    key        text primary key,        -- e.g. webhook:<pipeline>:<path>:<delivery id>
    run_id     bigint not null references runs (id),
    created_at timestamptz not null default now()
);
create index trigger_keys_run on trigger_keys (run_id);

create table trigger_skips (
    id           bigserial primary key,
    pipeline     text not null,
    trigger      text not null,
    scheduled_at timestamptz,
    reason       text not null,
    at           timestamptz not null default now()
);
create index trigger_skips_pipeline on trigger_skips (pipeline, id desc);
