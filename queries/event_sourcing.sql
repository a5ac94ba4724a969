-- Event sourcing: account balances as a fold of the event log.
--
-- The problem: a bank records every deposit and withdrawal as an immutable event on the
-- topic 'accounts' (the source of truth, replayable, auditable). Services need each
-- account's current balance, by key, right now. The table 'balances' is that fold of the
-- event log — SUM of signed amounts per account — kept up to date as events arrive and
-- queried by key with pull queries. Its topic is compacted (a table's topic is, by default):
-- compaction keeps only the latest balance per account, so the topic stays as small as the
-- number of accounts while the event log keeps the full history.
--
-- In the REPL:
--   rivulet> datagen --quickstart accounts --topic accounts --rate 5
--   rivulet> RUN SCRIPT 'queries/event_sourcing.sql';

CREATE STREAM IF NOT EXISTS account_events (
    account_id VARCHAR KEY, event_id BIGINT, event_type VARCHAR, amount DOUBLE,
    channel VARCHAR, event_time BIGINT)
  WITH (KAFKA_TOPIC='accounts', VALUE_FORMAT='JSON', PARTITIONS=1, TIMESTAMP='event_time');

-- The current state of every account, folded from its events.
CREATE TABLE IF NOT EXISTS balances WITH (KAFKA_TOPIC='balances', CLEANUP_POLICY='compact') AS
  SELECT account_id,
         SUM(CASE WHEN event_type = 'DEPOSIT' THEN amount ELSE -amount END) AS balance,
         COUNT(*) AS events,
         LATEST_BY_OFFSET(event_type) AS last_event,
         MAX(event_time) AS updated_at
  FROM account_events
  GROUP BY account_id
  EMIT CHANGES;

-- One account's balance, by key.
SELECT account_id, balance, events, last_event FROM balances WHERE account_id = 'ACC-001';
