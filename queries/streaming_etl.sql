-- Streaming ETL: the continuous replacement of a nightly batch job.
--
-- The problem: raw orders land as CSV lines on the topic 'orders' (produced by a legacy
-- point-of-sale system: DELIMITED values, epoch-millisecond times, inconsistent names).
-- A nightly job used to extract them, clean them and load them into the warehouse. Here
-- the same transformation runs continuously: filter out invalid orders, standardize
-- (casts, trimmed and upper-cased names, times as UTC ISO-8601 strings), enrich (order
-- total, size class, sales region derived from the state) and load the result as JSON
-- into the topic 'orders_clean', from which the warehouse ingests.
--
-- In the REPL:
--   rivulet> datagen --quickstart orders --topic orders --format delimited --rate 5
--   rivulet> RUN SCRIPT 'queries/streaming_etl.sql';

-- The record key is the order id; the legacy system repeats it in the CSV line.
CREATE STREAM IF NOT EXISTS orders_raw (
    order_key VARCHAR KEY, ordertime BIGINT, orderid VARCHAR, itemid VARCHAR, customer VARCHAR, orderunits INT,
    price DOUBLE, city VARCHAR, state VARCHAR, zipcode VARCHAR)
  WITH (KAFKA_TOPIC='orders', VALUE_FORMAT='DELIMITED', PARTITIONS=1, TIMESTAMP='ordertime');

CREATE STREAM IF NOT EXISTS orders_clean WITH (KAFKA_TOPIC='orders_clean', VALUE_FORMAT='JSON') AS
  SELECT order_key,
         orderid,
         FORMAT_TIMESTAMP(FROM_UNIXTIME(ordertime), 'yyyy-MM-dd''T''HH:mm:ss''Z''', 'UTC') AS order_time_utc,
         UCASE(TRIM(customer)) AS customer,
         CAST(REPLACE(itemid, 'Item_', '') AS INT) AS item,
         orderunits AS units,
         ROUND(orderunits * price, 2) AS total,
         CASE WHEN orderunits * price >= 1000 THEN 'LARGE'
              WHEN orderunits * price >= 100 THEN 'MEDIUM'
              ELSE 'SMALL' END AS size_class,
         INITCAP(TRIM(city)) AS city,
         UCASE(state) AS state,
         CASE UCASE(state) WHEN 'CA' THEN 'WEST' WHEN 'WA' THEN 'WEST' WHEN 'CO' THEN 'WEST'
                           WHEN 'TX' THEN 'SOUTH' WHEN 'MA' THEN 'NORTHEAST'
                           ELSE 'OTHER' END AS sales_region
  FROM orders_raw
  WHERE orderunits > 0 AND price > 0 AND customer IS NOT NULL
  EMIT CHANGES;

-- The first cleaned orders.
SELECT * FROM orders_clean EMIT CHANGES LIMIT 5;
