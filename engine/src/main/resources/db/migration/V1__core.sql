-- Core state: pipeline versions, runs, tasks (one per step of a run), attempts, logs, events.
-- Status columns are text with CHECK constraints so later states are a migration, not an enum change.

create table pipeline_versions (
    version     text primary key,               -- sha256 of the canonical YAML
    name        text not null,
    source_file text,
    source      text not null,
    created_at  timestamptz not null default now()
);
create index pipeline_versions_name on pipeline_versions (name, created_at desc);

create table runs (
    id               bigserial primary key,
    pipeline         text not null,
    pipeline_version text not null references pipeline_versions (version),
    params           jsonb not null,
    trigger          text not null,
    pipeline_file    text,
    base_dir         text,
    status           text not null
        check (status in ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    retry_of         bigint references runs (id),
    created_at       timestamptz not null default now(),
    started_at       timestamptz,
    finished_at      timestamptz
);
create index runs_pipeline on runs (pipeline, id desc);
create index runs_active on runs (id) where status in ('queued', 'running');

create table tasks (
    id               bigserial primary key,
    run_id           bigint not null references runs (id),
    step_id          text not null,
    status           text not null
        check (status in ('queued', 'running', 'succeeded', 'failed', 'skipped', 'cancelled')),
    queue            text not null,
    spec             jsonb not null,
    attempt          int not null default 0,
    max_attempts     int not null,
    backoff_ms       bigint not null,
    not_before       timestamptz not null default now(),
    worker           text,
    lease_until      timestamptz,
    cancel_requested boolean not null default false,
    outputs          jsonb not null default '{}'::jsonb,
    exit_code        int,
    error            text,
    reused_from      bigint references tasks (id),
    created_at       timestamptz not null default now(),
    started_at       timestamptz,
    finished_at      timestamptz,
    unique (run_id, step_id)
);
create index tasks_ready on tasks (queue, not_before, id) where status = 'queued';
create index tasks_leased on tasks (lease_until) where status = 'running';

create table task_attempts (
    task_id     bigint not null references tasks (id),
    attempt     int not null,
    worker      text not null,
    status      text not null
        check (status in ('running', 'succeeded', 'failed', 'cancelled', 'lost')),
    started_at  timestamptz not null default now(),
    finished_at timestamptz,
    exit_code   int,
    error       text,
    primary key (task_id, attempt)
);

create table task_logs (
    id      bigserial primary key,
    task_id bigint not null references tasks (id),
    attempt int not null,
    stream  text not null check (stream in ('stdout', 'stderr', 'system')),
    line    text not null,
    at      timestamptz not null default now()
);
create index task_logs_task on task_logs (task_id, id);

create table run_events (
    id      bigserial primary key,
    run_id  bigint not null references runs (id),
    step_id text,
    status  text not null,
    detail  text,
    at      timestamptz not null default now()
);
create index run_events_run on run_events (run_id, id);

create table metrics (
    run_id  bigint not null references runs (id),
    step_id text not null,
    key     text not null,
    idx     int not null,
    value   double precision not null,
    at      timestamptz not null default now(),
    primary key (run_id, step_id, key, idx)
);

create table artifacts (
    run_id  bigint not null references runs (id),
    step_id text not null,
    name    text not null,
    sha256  text not null,
    size    bigint not null,
    kind    text not null check (kind in ('file', 'dir')),
    primary key (run_id, step_id, name)
);
create index artifacts_sha on artifacts (sha256);
