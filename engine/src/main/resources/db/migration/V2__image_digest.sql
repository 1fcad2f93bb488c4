-- The resolved digest of the container image a step ran in, for lineage.
alter table tasks add column image_digest text;
