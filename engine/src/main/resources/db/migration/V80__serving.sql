-- Serving (issue 16): what a model version takes (its signature), the images built for it and
-- the deployments that keep an alias served.

create table model_signatures (
    name       text not null,
    version    int not null,
    columns    jsonb not null,              -- [{"name": ..., "type": number|integer|string|boolean}]
    flavour    text not null,               -- the runtime that serves it: tribuo, sklearn
    created_at timestamptz not null default now(),
    primary key (name, version),
    foreign key (name, version) references model_versions (name, version)
);

create table model_images (
    name       text not null,
    version    int not null,
    image      text not null,               -- the reference, e.g. kiln-model/churn:3
    image_id   text not null,               -- the image's content digest (sha256:...)
    created_at timestamptz not null default now(),
    primary key (name, version, image_id),
    foreign key (name, version) references model_versions (name, version)
);

-- One row per (model, alias) served: what runs now and the last failed attempt to move it.
create table model_deployments (
    name           text not null references models (name),
    alias          text not null,
    url            text not null,
    status         text not null check (status in ('starting', 'serving', 'failed', 'stopped')),
    version        int,
    image_id       text,
    container_id   text,
    failed_version int,
    error          text,
    owner          text not null,           -- host:pid of the kiln process keeping it served
    updated_at     timestamptz not null default now(),
    primary key (name, alias)
);
