-- Retention (kiln gc, kiln server --retention): the look-ups that decide whether an old run is
-- still referenced, and that find its rows, need indexes on the referring columns.
create index runs_retry_of on runs (retry_of) where retry_of is not null;
create index runs_finished on runs (finished_at) where status in ('succeeded', 'failed', 'cancelled');
create index dataset_versions_run on dataset_versions (run_id) where run_id is not null;
create index monitor_reports_run on monitor_reports (run_id) where run_id is not null;
create index model_versions_artifact on model_versions (artifact_sha256);
create index dataset_versions_sha on dataset_versions (sha256);
