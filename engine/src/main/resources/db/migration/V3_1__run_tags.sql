-- Free-form tags on runs for experiment tracking (kiln runs tag RUN key=value).
alter table runs add column tags jsonb not null default '{}'::jsonb;
