-- The process that drives a run to its end (kiln run), and when it last said it was alive, so a
-- later kiln run of the same pipeline version and params can take over a run whose driver died.
alter table runs add column driver text;
alter table runs add column driver_seen timestamptz;
