-- A schedule fires once per scheduled time, whatever the Quartz cluster does after a node dies:
-- the store refuses a second cron run of a pipeline for the same scheduled time.
create unique index runs_cron_once on runs (pipeline, scheduled_at) where trigger = 'cron';
