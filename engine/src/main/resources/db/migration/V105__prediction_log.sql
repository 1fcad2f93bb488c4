-- Live traffic of served models (issue 16): one row per predicted row, written in batches by the
-- deployment's proxy, read by drift/check and metrics/check ("live: NAME@ALIAS") and joined with
-- late labels by request id.

create table prediction_log (
    id            bigserial primary key,
    name          text not null,
    alias         text not null,
    version       int not null,
    request_id    text not null,
    row_index     int not null,               -- the row's place in its request, from 0
    rows_in_request int not null,
    -- json, not jsonb: kept as written (columns in the caller's order) and cheaper to write
    inputs        json not null,              -- the row as sent: {column: value}
    prediction    json,
    probabilities json,                       -- {label: probability}, when the model has them
    received_at   timestamptz not null
);

create index prediction_log_by_deployment on prediction_log (name, alias, received_at);
create index prediction_log_by_request on prediction_log (request_id);
