-- Versioned data sets, the model registry with audited aliases, and the lineage between them.
-- Version numbers are per name; a writer locks the name's row (datasets / models) before it
-- takes max(version) + 1, so two writers at once get distinct numbers.

create table datasets (
    name       text primary key,
    created_at timestamptz not null default now()
);

create table dataset_versions (
    name        text not null references datasets (name),
    version     int not null,
    sha256      text not null,
    size        bigint not null,
    kind        text not null check (kind in ('file', 'dir')),
    rows        bigint,
    schema      jsonb not null default '[]'::jsonb,   -- [{"name": ..., "type": ...}]
    source_path text,
    run_id      bigint references runs (id),
    step_id     text,
    created_at  timestamptz not null default now(),
    primary key (name, version),
    unique (name, sha256)
);

-- Which dataset versions a run read (a dataset/version step in that run).
create table run_dataset_reads (
    run_id  bigint not null references runs (id),
    step_id text not null,
    name    text not null,
    version int not null,
    at      timestamptz not null default now(),
    primary key (run_id, step_id, name),
    foreign key (name, version) references dataset_versions (name, version)
);

-- A reproduction pins the dataset versions its dataset/version steps use.
create table run_dataset_pins (
    run_id  bigint not null references runs (id),
    name    text not null,
    version int not null,
    primary key (run_id, name),
    foreign key (name, version) references dataset_versions (name, version)
);

create table models (
    name       text primary key,
    created_at timestamptz not null default now()
);

create table model_versions (
    name             text not null references models (name),
    version          int not null,
    artifact_sha256  text not null,
    artifact_size    bigint not null,
    artifact_kind    text not null check (artifact_kind in ('file', 'dir')),
    run_id           bigint references runs (id),
    step_id          text,
    pipeline         text,
    pipeline_version text,
    git_commit       text,
    metrics          jsonb not null default '{}'::jsonb,
    params           jsonb not null default '{}'::jsonb,
    tags             jsonb not null default '{}'::jsonb,
    created_by       text not null,
    created_at       timestamptz not null default now(),
    primary key (name, version)
);
create index model_versions_run on model_versions (run_id);

-- Where each alias points now; every move is also an append-only row of model_alias_events.
create table model_aliases (
    name       text not null,
    alias      text not null check (alias ~ '^[a-z0-9][a-z0-9_-]*$'),
    version    int not null,
    updated_at timestamptz not null default now(),
    primary key (name, alias),
    foreign key (name, version) references model_versions (name, version)
);

create table model_alias_events (
    id           bigserial primary key,
    name         text not null references models (name),
    alias        text not null check (alias ~ '^[a-z0-9][a-z0-9_-]*$'),
    from_version int,
    to_version   int not null,
    who          text not null,
    why          text,
    at           timestamptz not null default clock_timestamp()
);
create index model_alias_events_alias on model_alias_events (name, alias, at desc, id desc);
