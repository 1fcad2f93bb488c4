-- Retention (issue 16): kiln gc and kiln server --retention delete prediction_log rows received
-- before a cutoff, in pieces; without this index each piece would scan the whole table.

create index prediction_log_by_received on prediction_log (received_at);
