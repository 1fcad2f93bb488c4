-- Monitoring (issue 6): every drift or performance report a monitor makes, one row per column or
-- metric for trends, and incidents (open while a monitor keeps alarming, closed by a clean check).

create table monitor_reports (
    id          bigserial primary key,
    monitor     text not null,
    kind        text not null check (kind in ('drift', 'metrics')),
    run_id      bigint references runs (id),
    step_id     text,
    alarm       boolean not null,          -- drifted, or degraded
    score       double precision,          -- share of drifted columns; null for metrics
    report      jsonb not null,
    created_at  timestamptz not null default now()
);
create index monitor_reports_monitor on monitor_reports (monitor, created_at desc);

create table monitor_values (
    report_id   bigint not null references monitor_reports (id),
    name        text not null,             -- column, or metric
    method      text,
    statistic   double precision,
    p_value     double precision,
    threshold   double precision,
    alarm       boolean not null,
    primary key (report_id, name)
);

create table monitor_incidents (
    id               bigserial primary key,
    monitor          text not null,
    kind             text not null check (kind in ('drift', 'metrics')),
    status           text not null check (status in ('open', 'closed')),
    opened_at        timestamptz not null default now(),
    opened_by        bigint not null references monitor_reports (id),
    last_report      bigint not null references monitor_reports (id),
    checks           int not null default 1,
    closed_at        timestamptz,
    closed_by        bigint references monitor_reports (id)
);
-- At most one open incident per monitor and kind: opening is an insert that loses on conflict.
create unique index monitor_incidents_one_open on monitor_incidents (monitor, kind)
    where status = 'open';
