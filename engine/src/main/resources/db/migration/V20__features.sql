-- The feature store (issue 15): definitions as versions keyed by the sha256 of their canonical
-- JSON (like pipeline versions), the online table of latest values per view and entity, and
-- the materialization watermark of each view.
create table feature_definitions (
  kind       text        not null check (kind in ('entity', 'source', 'view', 'service')),
  name       text        not null,
  version    int         not null,
  sha256     text        not null,
  spec       jsonb       not null,
  file       text        not null,
  created_at timestamptz not null default now(),
  -- the current version of a name is the one applied last
  applied_at timestamptz not null default now(),
  primary key (kind, name, version),
  unique (kind, name, sha256)
);

create table feature_online (
  view_name      text        not null,
  -- the view's join key values as text, joined by U+001F when there are several
  entity_key     text        not null,
  event_ts       timestamptz not null,
  created_ts     timestamptz,
  feature_values jsonb       not null,
  written_at     timestamptz not null default now(),
  primary key (view_name, entity_key)
);

create table feature_watermarks (
  view_name  text        primary key,
  watermark  timestamptz not null,
  rows       bigint      not null,
  updated_at timestamptz not null default now()
);
