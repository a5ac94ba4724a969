-- E-commerce clickstream: customer sessions, the purchase funnel and the top products.
--
-- The problem: an online shop wants to understand its customers' habits as they shop —
-- how long they stay (sessions: activity separated by 60 seconds of silence), how many
-- visitors go from viewing a product to the cart, the checkout and a purchase (the funnel),
-- and which products draw the most views and sales — instead of reading yesterday's logs.
--
-- In the REPL:
--   rivulet> datagen --quickstart clickstream --topic clickstream --rate 10
--   rivulet> RUN SCRIPT 'queries/clickstream.sql';

CREATE STREAM IF NOT EXISTS clickstream (
    user_id VARCHAR KEY, event_time BIGINT, ip VARCHAR, action VARCHAR, product_id VARCHAR,
    url VARCHAR, status INT, bytes BIGINT, agent VARCHAR)
  WITH (KAFKA_TOPIC='clickstream', VALUE_FORMAT='JSON', PARTITIONS=1, TIMESTAMP='event_time');

-- Sessions per user: a session ends after 60 seconds without a click.
CREATE TABLE IF NOT EXISTS user_sessions AS
  SELECT user_id, COUNT(*) AS clicks, COUNT_DISTINCT(product_id) AS products
  FROM clickstream
  WINDOW SESSION (60 SECONDS)
  GROUP BY user_id
  EMIT CHANGES;

-- The funnel: events and distinct customers per step, per ten minutes.
CREATE TABLE IF NOT EXISTS funnel AS
  SELECT action, COUNT(*) AS events, COUNT_DISTINCT(user_id) AS customers
  FROM clickstream
  WINDOW TUMBLING (SIZE 10 MINUTES)
  GROUP BY action
  EMIT CHANGES;

-- Products: views, carts and purchases of successful requests.
CREATE TABLE IF NOT EXISTS product_activity AS
  SELECT product_id,
         SUM(CASE WHEN action = 'view' THEN 1 ELSE 0 END) AS views,
         SUM(CASE WHEN action = 'add_to_cart' THEN 1 ELSE 0 END) AS carts,
         SUM(CASE WHEN action = 'purchase' THEN 1 ELSE 0 END) AS purchases
  FROM clickstream
  WHERE status = 200
  GROUP BY product_id
  EMIT CHANGES;

-- Best sellers: products bought at least three times.
SELECT product_id, views, purchases FROM product_activity WHERE purchases >= 3;
