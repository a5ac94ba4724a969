-- Quickstart: a stream of orders, filtered and re-keyed by customer into a new stream,
-- and the first row of that stream read back with a push query.
CREATE STREAM IF NOT EXISTS orders (id BIGINT KEY, customer VARCHAR, amount DOUBLE, ts VARCHAR)
  WITH (KAFKA_TOPIC='orders', VALUE_FORMAT='JSON', PARTITIONS=4, TIMESTAMP='ts',
        TIMESTAMP_FORMAT='yyyy-MM-dd''T''HH:mm:ss');
INSERT INTO orders (id, customer, amount, ts) VALUES (1, 'ada', 12.5, '2026-11-01T10:00:00');
CREATE STREAM IF NOT EXISTS big_orders WITH (KAFKA_TOPIC='big_orders') AS
  SELECT UCASE(customer) AS customer, id, amount * 1.2 AS gross FROM orders WHERE amount > 10
  PARTITION BY UCASE(customer) EMIT CHANGES;
SELECT * FROM big_orders EMIT CHANGES LIMIT 1;
SHOW STREAMS;
DESCRIBE big_orders;
