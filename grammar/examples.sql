-- examples.sql: statements of the ksqlDB dialect, grouped by the rule of grammar/ksql.ebnf
-- they exercise.  A test parses every statement here with Rivulet's parser.  Each group
-- starts with a "-- rule: <name>" line; statements end with ';' and are separated by
-- blank lines.

-- rule: create_source
CREATE STREAM pageviews (
  viewtime BIGINT,
  userid VARCHAR,
  pageid VARCHAR
) WITH (KAFKA_TOPIC = 'pageviews', VALUE_FORMAT = 'JSON');

CREATE TABLE users (
  userid VARCHAR PRIMARY KEY,
  registertime BIGINT,
  gender VARCHAR,
  regionid VARCHAR
) WITH (KAFKA_TOPIC = 'users', VALUE_FORMAT = 'JSON', PARTITIONS = 6, REPLICAS = 1);

CREATE STREAM IF NOT EXISTS orders (order_id BIGINT KEY, customer_id INT, product_id INT, amount DECIMAL(10, 2), order_ts TIMESTAMP)
  WITH (KAFKA_TOPIC = 'orders', VALUE_FORMAT = 'AVRO', TIMESTAMP = 'order_ts');

CREATE OR REPLACE STREAM sensors (sensor_id STRING KEY, reading DOUBLE, unit STRING)
  WITH (KAFKA_TOPIC = 'sensors', FORMAT = 'JSON');

CREATE SOURCE TABLE customers (id INT PRIMARY KEY, name STRING, email STRING, tier STRING)
  WITH (KAFKA_TOPIC = 'customers', KEY_FORMAT = 'KAFKA', VALUE_FORMAT = 'JSON');

CREATE OR REPLACE SOURCE STREAM clicks (user_id STRING KEY, url STRING)
  WITH (KAFKA_TOPIC = 'clicks', VALUE_FORMAT = 'DELIMITED', VALUE_DELIMITER = 'TAB');

-- A schema taken from the Schema Registry: no element list.
CREATE STREAM payments WITH (KAFKA_TOPIC = 'payments', FORMAT = 'AVRO');

CREATE TABLE products WITH (KAFKA_TOPIC = 'products', KEY_FORMAT = 'AVRO', VALUE_FORMAT = 'AVRO', VALUE_SCHEMA_ID = 3);

CREATE STREAM pageviews_per_minute (userid STRING KEY, views BIGINT)
  WITH (KAFKA_TOPIC = 'pageviews_per_minute', VALUE_FORMAT = 'JSON', WINDOW_TYPE = 'TUMBLING', WINDOW_SIZE = '1 MINUTE');

-- ROWKEY is an ordinary column name in current versions.
CREATE TABLE legacy_devices (ROWKEY STRING PRIMARY KEY, name STRING)
  WITH (KAFKA_TOPIC = 'legacy_devices', VALUE_FORMAT = 'JSON');

-- rule: column_constraint
CREATE STREAM readings (device_id STRING KEY, site_id STRING KEY, temperature DOUBLE)
  WITH (KAFKA_TOPIC = 'readings', KEY_FORMAT = 'JSON', VALUE_FORMAT = 'JSON');

CREATE TABLE devices (device_id STRING PRIMARY KEY, model STRING)
  WITH (KAFKA_TOPIC = 'devices', VALUE_FORMAT = 'JSON');

CREATE STREAM audited_orders (
  order_id BIGINT KEY,
  amount DOUBLE,
  hdrs ARRAY<STRUCT<key STRING, value BYTES>> HEADERS
) WITH (KAFKA_TOPIC = 'audited_orders', VALUE_FORMAT = 'JSON');

CREATE STREAM traced_orders (order_id BIGINT KEY, amount DOUBLE, trace_id BYTES HEADER('trace-id'))
  WITH (KAFKA_TOPIC = 'traced_orders', VALUE_FORMAT = 'JSON');

-- rule: sql_type
CREATE STREAM all_types (
  k STRING KEY,
  b BOOLEAN,
  i INT,
  i2 INTEGER,
  l BIGINT,
  d DOUBLE,
  price DECIMAL(12, 4),
  s STRING,
  v VARCHAR,
  payload BYTES,
  day_of DATE,
  at_time TIME,
  ts TIMESTAMP
) WITH (KAFKA_TOPIC = 'all_types', VALUE_FORMAT = 'JSON');

CREATE STREAM fleet (
  vehicle_id STRUCT<region STRING, num INT> KEY,
  stops ARRAY<STRUCT<name STRING, pos STRUCT<lat DOUBLE, lon DOUBLE>>>,
  tags MAP<STRING, ARRAY<STRING>>,
  home ADDRESS
) WITH (KAFKA_TOPIC = 'fleet', KEY_FORMAT = 'JSON', VALUE_FORMAT = 'JSON');

CREATE TABLE accounts (`Account-Id` STRING PRIMARY KEY, "Balance" DECIMAL(18, 2), `owner` STRUCT<`firstName` STRING, `lastName` STRING>)
  WITH (KAFKA_TOPIC = 'accounts', VALUE_FORMAT = 'JSON');

-- rule: with_properties
CREATE STREAM raw_events (id STRING KEY, body STRING, event_time STRING)
  WITH (
    KAFKA_TOPIC = 'raw-events',
    KEY_FORMAT = 'KAFKA',
    VALUE_FORMAT = 'JSON',
    PARTITIONS = 12,
    REPLICAS = 3,
    RETENTION_MS = 604800000,
    CLEANUP_POLICY = 'delete',
    TIMESTAMP = 'event_time',
    TIMESTAMP_FORMAT = 'yyyy-MM-dd''T''HH:mm:ss.SSSX'
  );

CREATE STREAM heartbeats (host STRING KEY, seq BIGINT) WITH (KAFKA_TOPIC = 'heartbeats', VALUE_FORMAT = 'JSON', WRAP_SINGLE_VALUE = false);

create stream csv_users (id int key, name string) with (kafka_topic='csv-users', key_format='delimited', value_format='delimited', key_delimiter='|', value_delimiter='SPACE');

CREATE STREAM legacy_events WITH (KAFKA_TOPIC = 'legacy', FORMAT = 'AVRO', KEY_SCHEMA_ID = 1, KEY_SCHEMA_FULL_NAME = 'com.example.EventKey', VALUE_SCHEMA_ID = 2, VALUE_SCHEMA_FULL_NAME = 'com.example.Event');

-- rule: create_as_select
CREATE STREAM pageviews_enriched AS
  SELECT pv.userid AS userid, pv.pageid, u.regionid, u.gender
  FROM pageviews pv
  LEFT JOIN users u ON pv.userid = u.userid
  EMIT CHANGES;

CREATE TABLE pageviews_per_region AS
  SELECT regionid, COUNT(*) AS numviews
  FROM pageviews_enriched
  GROUP BY regionid
  EMIT CHANGES;

CREATE STREAM pageviews_female WITH (KAFKA_TOPIC = 'pageviews_female', PARTITIONS = 4, VALUE_FORMAT = 'AVRO') AS
  SELECT * FROM pageviews_enriched WHERE gender = 'FEMALE';

CREATE OR REPLACE TABLE IF NOT EXISTS order_totals AS
  SELECT customer_id, SUM(amount) AS total, COUNT(*) AS cnt
  FROM orders
  GROUP BY customer_id;

CREATE TABLE hot_sensors WITH (KEY_FORMAT = 'JSON') AS
  SELECT sensor_id, unit, MAX(reading) AS max_reading
  FROM sensors
  GROUP BY sensor_id, unit
  HAVING MAX(reading) > 90.0;

-- rule: insert_into_select
INSERT INTO pageviews_enriched
  SELECT pv.userid AS userid, pv.pageid, u.regionid, u.gender
  FROM pageviews_backfill pv
  LEFT JOIN users u ON pv.userid = u.userid
  EMIT CHANGES;

INSERT INTO all_orders WITH (QUERY_ID = 'INSERTQUERY_EU_ORDERS') SELECT * FROM eu_orders;

-- rule: insert_values
INSERT INTO pageviews (viewtime, userid, pageid) VALUES (1700000000000, 'User_1', 'Page_42');

INSERT INTO sensors VALUES ('s-17', -12.5, 'C');

INSERT INTO pageviews (ROWTIME, viewtime, userid, pageid) VALUES (1700000000000, 1700000000000, 'User_2', 'Page_7');

INSERT INTO sensors (sensor_id, reading, unit) VALUES ('s-18', NULL, 'it''s broken');

INSERT INTO fleet (vehicle_id, stops, tags) VALUES (
  STRUCT(region := 'EU', num := 7),
  ARRAY[STRUCT(name := 'depot', pos := STRUCT(lat := 52.52, lon := 13.405))],
  MAP('color' := ARRAY['red'], 'fuel' := ARRAY['diesel', 'electric'])
);

-- rule: query
SELECT * FROM pageviews EMIT CHANGES;

SELECT userid, pageid FROM pageviews WHERE pageid <> 'Page_1' EMIT CHANGES LIMIT 10;

-- A pull query: no EMIT clause.
SELECT * FROM pageviews_per_region WHERE regionid = 'Region_1';

SELECT regionid, numviews FROM pageviews_per_region;

SELECT * FROM pageviews WHERE userid = 'User_1' LIMIT 5;

select userid, count(*) as views
from pageviews
window tumbling (size 1 minute)
where pageid like 'Page_%'
group by userid
having count(*) > 2
emit changes
limit 100;

-- rule: select_item
SELECT *, viewtime + 1 AS next_time FROM pageviews EMIT CHANGES;

SELECT pv.*, u.regionid FROM pageviews pv JOIN users u ON pv.userid = u.userid EMIT CHANGES;

SELECT order_id, shipping->* FROM shipments EMIT CHANGES;

SELECT userid uid, pageid AS page, viewtime FROM pageviews EMIT CHANGES;

SELECT sensor_id, ROUND(reading, -1) AS 10R, ROUND(reading, -2) AS 100R FROM sensors EMIT CHANGES;

-- rule: aliased_source
SELECT p.userid FROM pageviews p EMIT CHANGES;

SELECT p.userid FROM pageviews AS p EMIT CHANGES;

-- rule: join_clause
SELECT o.order_id, c.name FROM orders o JOIN customers c ON o.customer_id = c.id EMIT CHANGES;

-- An n-way join: a stream joined to two tables.
CREATE STREAM orders_enriched AS
  SELECT o.order_id, c.name AS customer, p.title AS product, o.amount
  FROM orders o
  JOIN customers c ON o.customer_id = c.id
  LEFT JOIN products p ON o.product_id = p.id
  EMIT CHANGES;

-- Three streams joined within windows.
CREATE STREAM checkout_funnel AS
  SELECT v.user_id, v.url, c.url AS cart_url, p.amount
  FROM views v
  INNER JOIN carts c WITHIN 10 MINUTES ON v.user_id = c.user_id
  INNER JOIN purchases p WITHIN 1 HOUR GRACE PERIOD 5 MINUTES ON v.user_id = p.user_id
  EMIT CHANGES;

-- A foreign-key table-table join.
CREATE TABLE order_customers AS
  SELECT ot.order_id, ot.customer_id, c.name
  FROM orders_table ot
  JOIN customers c ON ot.customer_id = c.id;

-- rule: join_type
SELECT * FROM impressions i INNER JOIN clicks c WITHIN 1 MINUTE ON i.user_id = c.user_id EMIT CHANGES;

SELECT * FROM impressions i LEFT JOIN clicks c WITHIN 1 MINUTE ON i.user_id = c.user_id EMIT CHANGES;

SELECT * FROM impressions i LEFT OUTER JOIN clicks c WITHIN 1 MINUTE ON i.user_id = c.user_id EMIT CHANGES;

SELECT * FROM impressions i RIGHT JOIN clicks c WITHIN 1 MINUTE ON i.user_id = c.user_id EMIT CHANGES;

SELECT * FROM impressions i RIGHT OUTER JOIN clicks c WITHIN 1 MINUTE ON i.user_id = c.user_id EMIT CHANGES;

SELECT * FROM impressions i FULL OUTER JOIN clicks c WITHIN 1 MINUTE ON i.user_id = c.user_id EMIT CHANGES;

SELECT * FROM impressions i FULL JOIN clicks c WITHIN 1 MINUTE ON i.user_id = c.user_id EMIT CHANGES;

-- rule: join_window
SELECT * FROM orders o JOIN shipments s WITHIN 2 HOURS ON o.order_id = s.order_id EMIT CHANGES;

SELECT * FROM orders o JOIN shipments s WITHIN (0 SECONDS, 1 DAY) ON o.order_id = s.order_id EMIT CHANGES;

SELECT * FROM orders o LEFT JOIN shipments s WITHIN (5 MINUTES, 2 HOURS) GRACE PERIOD 15 MINUTES ON o.order_id = s.order_id EMIT CHANGES;

SELECT * FROM orders o JOIN payments p WITHIN 500 MILLISECONDS GRACE PERIOD 100 MILLISECONDS ON o.order_id = p.order_id EMIT CHANGES;

-- rule: window_clause
SELECT userid, COUNT(*) FROM pageviews WINDOW TUMBLING (SIZE 30 SECONDS) GROUP BY userid EMIT CHANGES;

CREATE TABLE first_reading AS
  SELECT sensor_id, EARLIEST_BY_OFFSET(reading) AS first_reading
  FROM sensors WINDOW w1 SESSION (1 MINUTE)
  GROUP BY sensor_id;

-- rule: tumbling_window
CREATE TABLE orders_per_hour AS
  SELECT customer_id, COUNT(*) AS orders, WINDOWSTART AS window_start, WINDOWEND AS window_end
  FROM orders
  WINDOW TUMBLING (SIZE 1 HOUR)
  GROUP BY customer_id;

-- rule: hopping_window
CREATE TABLE avg_temp AS
  SELECT sensor_id, AVG(reading) AS avg_reading
  FROM sensors
  WINDOW HOPPING (SIZE 5 MINUTES, ADVANCE BY 1 MINUTE)
  GROUP BY sensor_id;

-- rule: session_window
CREATE TABLE user_sessions AS
  SELECT userid, COUNT(*) AS clicks, COLLECT_LIST(pageid) AS pages
  FROM pageviews
  WINDOW SESSION (30 MINUTES)
  GROUP BY userid;

-- rule: window_options
SELECT sensor_id, MAX(reading) FROM sensors WINDOW TUMBLING (SIZE 1 DAY, RETENTION 7 DAYS) GROUP BY sensor_id EMIT CHANGES;

SELECT sensor_id, MAX(reading) FROM sensors WINDOW TUMBLING (SIZE 10 SECONDS, GRACE PERIOD 0 SECONDS) GROUP BY sensor_id EMIT CHANGES;

SELECT sensor_id, MIN(reading)
FROM sensors
WINDOW HOPPING (SIZE 1 HOUR, ADVANCE BY 10 MINUTES, RETENTION 2 DAYS, GRACE PERIOD 30 MINUTES)
GROUP BY sensor_id
EMIT CHANGES;

SELECT userid, COUNT(*) FROM pageviews WINDOW SESSION (5 MINUTES, RETENTION 1 DAY, GRACE PERIOD 1 MINUTE) GROUP BY userid EMIT CHANGES;

-- rule: emit_clause
SELECT regionid, numviews FROM pageviews_per_region EMIT CHANGES;

CREATE TABLE hourly_orders AS
  SELECT customer_id, COUNT(*) AS orders
  FROM orders
  WINDOW TUMBLING (SIZE 1 HOUR, GRACE PERIOD 10 MINUTES)
  GROUP BY customer_id
  EMIT FINAL;

SELECT sensor_id, AVG(reading) AS avg_reading FROM sensors WINDOW TUMBLING (SIZE 1 MINUTE, GRACE PERIOD 5 SECONDS) GROUP BY sensor_id EMIT FINAL;

-- rule: limit_clause
SELECT * FROM orders EMIT CHANGES LIMIT 3;

SELECT * FROM order_totals LIMIT 50;

-- rule: where_clause
SELECT * FROM order_totals WHERE customer_id = 42;

SELECT * FROM orders_per_hour WHERE customer_id = 42 AND WINDOWSTART >= 1700000000000 AND WINDOWEND <= 1700003600000;

SELECT * FROM orders_per_hour WHERE '2024-01-01T00:00:00' <= WINDOWSTART AND customer_id = 7;

-- rule: group_by_clause
CREATE TABLE by_region_gender AS SELECT regionid, gender, COUNT(*) AS cnt FROM pageviews_enriched GROUP BY regionid, gender;

CREATE TABLE by_region_gender_paren AS SELECT regionid, gender, COUNT(*) AS cnt FROM pageviews_enriched GROUP BY (regionid, gender);

CREATE TABLE missing_names AS SELECT name IS NULL AS no_name, COUNT(*) AS cnt FROM customers_stream GROUP BY (name IS NULL);

-- rule: partition_by_clause
CREATE STREAM pageviews_by_page AS SELECT * FROM pageviews PARTITION BY pageid;

CREATE STREAM readings_by_site AS SELECT * FROM readings PARTITION BY site_id, device_id EMIT CHANGES;

CREATE STREAM orders_unkeyed AS SELECT * FROM orders PARTITION BY NULL;

CREATE STREAM orders_by_region AS SELECT * FROM orders_enriched PARTITION BY UCASE(customer) EMIT CHANGES;

-- rule: having_clause
SELECT userid, COUNT(*) AS views FROM pageviews GROUP BY userid HAVING COUNT(*) > 10 AND userid <> 'bot' EMIT CHANGES;

-- rule: time_unit
SELECT * FROM a_stream a JOIN b_stream b WITHIN 1 MILLISECOND ON a.id = b.id EMIT CHANGES;

SELECT * FROM a_stream a JOIN b_stream b WITHIN 3 SECOND ON a.id = b.id EMIT CHANGES;

SELECT * FROM a_stream a JOIN b_stream b WITHIN 2 MINUTE ON a.id = b.id EMIT CHANGES;

SELECT * FROM a_stream a JOIN b_stream b WITHIN 1 DAYS ON a.id = b.id EMIT CHANGES;

SELECT order_id, TIMESTAMPADD(MINUTES, 30, order_ts) AS due, DATEADD(DAYS, -5, ship_date) AS earlier FROM orders EMIT CHANGES;

-- rule: show_statement
SHOW PROPERTIES;

LIST PROPERTIES;

SHOW TOPICS;

SHOW ALL TOPICS;

SHOW TOPICS EXTENDED;

LIST ALL TOPICS EXTENDED;

SHOW STREAMS;

LIST STREAMS EXTENDED;

SHOW TABLES;

SHOW TABLES EXTENDED;

SHOW QUERIES;

SHOW QUERIES EXTENDED;

SHOW FUNCTIONS;

LIST FUNCTIONS;

SHOW CONNECTORS;

SHOW SOURCE CONNECTORS;

SHOW SINK CONNECTORS;

SHOW CONNECTOR PLUGINS;

SHOW TYPES;

SHOW VARIABLES;

show streams;

-- rule: describe_statement
DESCRIBE pageviews;

DESCRIBE pageviews_enriched EXTENDED;

DESCRIBE STREAMS;

DESCRIBE STREAMS EXTENDED;

DESCRIBE TABLES;

DESCRIBE TABLES EXTENDED;

DESCRIBE FUNCTION SUBSTRING;

DESCRIBE CONNECTOR jdbc_customers;

DESCRIBE `Account-Events`;

-- rule: explain_statement
EXPLAIN CSAS_PAGEVIEWS_ENRICHED_0;

EXPLAIN SELECT * FROM pageviews EMIT CHANGES;

EXPLAIN CREATE TABLE per_user AS SELECT userid, COUNT(*) AS n FROM pageviews GROUP BY userid;

-- rule: print_statement
PRINT pageviews;

PRINT 'raw-events' FROM BEGINNING;

PRINT pageviews FROM BEGINNING INTERVAL 5 LIMIT 10;

PRINT sensors SAMPLE 2;

PRINT `orders-v2` LIMIT 3;

-- rule: terminate_statement
TERMINATE CSAS_PAGEVIEWS_ENRICHED_0;

TERMINATE ALL;

-- rule: pause_statement
PAUSE CTAS_PAGEVIEWS_PER_REGION_3;

PAUSE ALL;

-- rule: resume_statement
RESUME CTAS_PAGEVIEWS_PER_REGION_3;

RESUME ALL;

-- rule: set_property
SET 'auto.offset.reset' = 'earliest';

SET 'ksql.query.pull.table.scan.enabled'='true';

-- rule: unset_property
UNSET 'auto.offset.reset';

-- rule: alter_system
ALTER SYSTEM 'ksql.streams.num.stream.threads' = '4';

-- rule: define_variable
DEFINE source_stream = 'pageviews';

DEFINE min_amount = '100';

-- rule: undefine_variable
UNDEFINE min_amount;

-- rule: variable_ref
SELECT * FROM ${source_stream} EMIT CHANGES;

SELECT * FROM orders WHERE amount > ${min_amount} EMIT CHANGES;

CREATE STREAM ${copy_name} AS SELECT * FROM ${source_stream} WHERE userid <> ${excluded_user};

-- rule: run_script
RUN SCRIPT '/opt/rivulet/scripts/pageviews.sql';

-- rule: drop_source
DROP STREAM pageviews_female;

DROP TABLE IF EXISTS pageviews_per_region DELETE TOPIC;

DROP STREAM IF EXISTS orders_unkeyed;

DROP TABLE order_totals DELETE TOPIC;

-- rule: alter_source
ALTER STREAM pageviews ADD COLUMN referrer STRING;

ALTER TABLE users ADD COLUMN email STRING, ADD COLUMN tags ARRAY<STRING>;

ALTER STREAM orders ADD coupon STRUCT<code STRING, pct INT>;

-- rule: create_type
CREATE TYPE ADDRESS AS STRUCT<street STRING, city STRING, zip INT>;

CREATE TYPE IF NOT EXISTS tag_list AS ARRAY<STRING>;

CREATE TYPE geo_point AS STRUCT<lat DOUBLE, lon DOUBLE>;

-- rule: drop_type
DROP TYPE ADDRESS;

DROP TYPE IF EXISTS geo_point;

-- rule: create_connector
CREATE SOURCE CONNECTOR jdbc_customers WITH (
  'connector.class' = 'io.confluent.connect.jdbc.JdbcSourceConnector',
  'connection.url' = 'jdbc:postgresql://db:5432/shop',
  'mode' = 'incrementing',
  'incrementing.column.name' = 'id',
  'topic.prefix' = 'jdbc_'
);

CREATE SINK CONNECTOR IF NOT EXISTS es_orders WITH ('connector.class' = 'io.confluent.connect.elasticsearch.ElasticsearchSinkConnector', 'topics' = 'orders_enriched', 'key.ignore' = 'true', 'tasks.max' = 2);

-- rule: drop_connector
DROP CONNECTOR jdbc_customers;

DROP CONNECTOR IF EXISTS es_orders;

-- rule: assert_topic
ASSERT TOPIC pageviews;

ASSERT TOPIC orders WITH (PARTITIONS = 6, REPLICAS = 3) TIMEOUT 30 SECONDS;

ASSERT NOT EXISTS TOPIC `orders-legacy` TIMEOUT 5 SECONDS;

ASSERT TOPIC 'raw-events' TIMEOUT 1 MINUTE;

-- rule: assert_schema
ASSERT SCHEMA ID 42;

ASSERT SCHEMA SUBJECT `orders-value` ID 7 TIMEOUT 10 SECONDS;

ASSERT NOT EXISTS SCHEMA SUBJECT `payments-value`;

ASSERT SCHEMA SUBJECT 'raw-events-value' TIMEOUT 3 SECONDS;

-- rule: predicate
SELECT * FROM orders WHERE amount BETWEEN 10 AND 100 EMIT CHANGES;

SELECT * FROM orders WHERE amount NOT BETWEEN -1.5 AND 1.5 EMIT CHANGES;

SELECT * FROM pageviews WHERE pageid IN ('Page_1', 'Page_2', 'Page_3') EMIT CHANGES;

SELECT * FROM pageviews WHERE userid NOT IN ('bot', 'crawler') EMIT CHANGES;

SELECT * FROM clicks WHERE url LIKE '%/checkout%' EMIT CHANGES;

SELECT * FROM clicks WHERE url NOT LIKE '%!%off%' ESCAPE '!' EMIT CHANGES;

SELECT * FROM sensors WHERE unit IS NULL EMIT CHANGES;

SELECT * FROM sensors WHERE reading IS NOT NULL EMIT CHANGES;

SELECT sensor_id, reading IS DISTINCT FROM 0.0 AS changed, unit IS NOT DISTINCT FROM 'C' AS celsius FROM sensors EMIT CHANGES;

-- rule: comparison_operator
SELECT a = b, a <> b, a != b, a < b, a <= b, a > b, a >= b FROM pairs EMIT CHANGES;

-- rule: or_expression
SELECT * FROM orders WHERE customer_id = 1 OR customer_id = 2 OR amount > 1000 EMIT CHANGES;

-- rule: and_expression
SELECT * FROM orders WHERE (customer_id = 1 OR customer_id = 2) AND amount > 10 AND product_id IS NOT NULL EMIT CHANGES;

-- rule: not_expression
SELECT * FROM pageviews WHERE NOT pageid = 'Page_1' AND NOT NOT (userid LIKE 'User_%') EMIT CHANGES;

-- rule: concat_expression
SELECT userid || '@' || pageid AS visit, 'id-' || CAST(viewtime AS STRING) AS tag FROM pageviews EMIT CHANGES;

-- rule: additive_expression
SELECT order_id, amount + 1.5 - discount AS net, order_id - 1000 FROM orders EMIT CHANGES;

-- rule: multiplicative_expression
SELECT order_id, amount * 2, amount / 3, order_id % 10, (amount + 1) * (amount - 1) / 2 FROM orders EMIT CHANGES;

-- rule: unary_expression
SELECT -reading, +reading, - -reading, -ABS(reading) FROM sensors WHERE reading < -40 EMIT CHANGES;

-- rule: at_time_zone_expression
SELECT order_id, order_ts AT TIME ZONE 'Europe/Paris' AS local_ts FROM orders EMIT CHANGES;

-- rule: postfix_expression
SELECT tags['color'], stops[1]->pos->lat, stops[-1]->name FROM fleet EMIT CHANGES;

SELECT hdrs[1]->key, hdrs[1]->value, hdrs[ARRAY_LENGTH(hdrs)]->value FROM audited_orders EMIT CHANGES;

SELECT `owner`->`firstName` AS first_name, `Account-Id` FROM accounts EMIT CHANGES;

SELECT matrix[1][2], matrix[-1][-1] FROM grids EMIT CHANGES;

SELECT FILTER(stops, s => s->pos->lon > 0)[1]->name AS first_east FROM fleet EMIT CHANGES;

-- rule: column_reference
SELECT userid, pageviews.pageid, viewtime FROM pageviews EMIT CHANGES;

SELECT p.userid, p.viewtime FROM pageviews p EMIT CHANGES;

-- rule: pseudo_column
SELECT ROWTIME, ROWPARTITION, ROWOFFSET, userid FROM pageviews EMIT CHANGES;

SELECT userid, WINDOWSTART, WINDOWEND, COUNT(*) FROM pageviews WINDOW TUMBLING (SIZE 1 MINUTE) GROUP BY userid EMIT CHANGES;

SELECT * FROM pageviews p WHERE p.ROWTIME > 1700000000000 EMIT CHANGES;

-- rule: case_expression
SELECT order_id,
       CASE
         WHEN amount < 10 THEN 'small'
         WHEN amount < 100 THEN 'medium'
         ELSE 'large'
       END AS size_class
FROM orders
EMIT CHANGES;

SELECT sensor_id, CASE unit WHEN 'C' THEN reading WHEN 'F' THEN (reading - 32) / 1.8 END AS celsius FROM sensors EMIT CHANGES;

SELECT CASE WHEN reading IS NULL THEN 0 ELSE 1 END FROM sensors EMIT CHANGES;

-- rule: cast_expression
SELECT CAST(viewtime AS STRING), CAST('12.50' AS DECIMAL(5, 2)), CAST(amount AS BIGINT), CAST(tags AS MAP<STRING, ARRAY<STRING>>) FROM orders EMIT CHANGES;

SELECT CAST((amount - discount) AS INT) AS net FROM orders EMIT CHANGES;

-- rule: array_constructor
SELECT ARRAY[1, 2, 3], ARRAY[], ARRAY[userid, pageid], ARRAY[ARRAY[1], ARRAY[2, 3]] FROM pageviews EMIT CHANGES;

-- rule: map_constructor
SELECT MAP('user' := userid, 'page' := pageid), MAP(), MAP('k':=ARRAY[1]) FROM pageviews EMIT CHANGES;

-- rule: struct_constructor
SELECT STRUCT(id := order_id, total := amount * 1.2, `When` := order_ts), STRUCT() FROM orders EMIT CHANGES;

-- rule: function_call
SELECT COUNT(*), COUNT(pageid), COUNT_DISTINCT(pageid), LATEST_BY_OFFSET(viewtime) FROM pageviews GROUP BY userid EMIT CHANGES;

SELECT ucase(userid), Substring(pageid, 1, 4), CONCAT_WS('-', userid, pageid) FROM pageviews EMIT CHANGES;

SELECT order_id, EXPLODE(line_items) AS item FROM orders_with_items EMIT CHANGES;

SELECT TIMESTAMPSUB(HOURS, 1, order_ts), TIMEADD(SECONDS, 90, ship_time), FORMAT_TIMESTAMP(order_ts, 'yyyy-MM-dd HH:mm') FROM orders EMIT CHANGES;

-- rule: lambda
SELECT TRANSFORM(readings, r => r * 1.8 + 32) AS fahrenheit FROM sensor_batches EMIT CHANGES;

SELECT FILTER(readings, x => x IS NOT NULL AND x > 0) AS positive FROM sensor_batches EMIT CHANGES;

SELECT REDUCE(readings, 0.0, (acc, x) => acc + x) AS total FROM sensor_batches EMIT CHANGES;

SELECT TRANSFORM(tags, (k, v) => UCASE(k), (k, v) => ARRAY_LENGTH(v)) AS tag_counts FROM fleet EMIT CHANGES;

SELECT TRANSFORM(stops, s => STRUCT(name := s->name, far := CASE WHEN s->pos->lat > 60 THEN true ELSE false END)) AS flagged FROM fleet EMIT CHANGES;

SELECT TRANSFORM(matrix, row_ => TRANSFORM(row_, x => x * 2)) AS doubled FROM grids EMIT CHANGES;

-- rule: literal
SELECT NULL, TRUE, false, True, 42, -7, 2147483648, 3.14, -0.5, .5, 1.5E1, 6.02e23, -4.9E-324, 'plain', '' FROM pageviews EMIT CHANGES;

SELECT 'it''s', '''quoted''', 'say "hi"', 'back\slash' FROM pageviews EMIT CHANGES;

SELECT PARSE_TIMESTAMP(ts_text, 'yyyy-MM-dd''T''HH:mm:ssX') AS ts FROM raw_events EMIT CHANGES;

-- rule: numeric_literal
SELECT -00002147483647 AS min_int, 000009223372036854775807 AS max_long, 10.00 AS dec_scale_2 FROM pageviews EMIT CHANGES;

-- rule: typed_literal
SELECT order_id FROM orders WHERE amount > DECIMAL '99.95' EMIT CHANGES;

-- rule: identifier
SELECT "userId", `Page-Id`, `select`, "with ""quotes""", `tick``tock` FROM `Mixed-Case-Views` EMIT CHANGES;

SELECT KEY, DATE, TIME, TYPE, SOURCE, ID, HEADER FROM odd_names EMIT CHANGES;

CREATE STREAM odd_names (ID STRING KEY, KEY STRING, DATE DATE, TIME TIME, TYPE STRING, SOURCE STRING, HEADER BYTES HEADER('h'))
  WITH (KAFKA_TOPIC = 'odd_names', VALUE_FORMAT = 'JSON');

SELECT 1st_place, 2nd_place AS 3rd FROM podium EMIT CHANGES;

-- rule: simple_comment
-- A comment on its own line before a statement.
SELECT userid, -- the user
       pageid  -- the page
FROM pageviews -- the source
EMIT CHANGES;

-- rule: bracketed_comment
/* A bracketed comment
   over several lines. */
SELECT /* inline */ userid FROM /* the source */ pageviews EMIT CHANGES;

CREATE TABLE /* comments can go anywhere between tokens */ region_counts
  AS SELECT regionid, /* -- not a line comment */ COUNT(*) AS n
  FROM pageviews_enriched GROUP BY regionid;
