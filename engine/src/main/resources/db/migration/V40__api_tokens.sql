-- API tokens (docs/security.md). Only the SHA-256 of a token is kept: a leaked table lets nobody
-- in. A revoked token keeps its row (who had access, until when); its name may be given again.
create table api_tokens (
    id           bigserial primary key,
    name         text not null,
    role         text not null check (role in ('viewer', 'operator', 'admin')),
    token_sha256 bytea not null unique check (length(token_sha256) = 32),
    created_at   timestamptz not null default now(),
    last_used_at timestamptz,
    revoked_at   timestamptz
);
create unique index api_tokens_active_name on api_tokens (name) where revoked_at is null;
