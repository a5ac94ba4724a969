-- Page views per region and per user in tumbling windows: ksqlDB's classic quickstart.
--
-- The problem: a web site wants live traffic numbers — how many pages each region views per
-- minute, and how active each user is every five minutes — without a batch job that
-- recomputes them every hour. Page view events (page, user, the user's region) arrive on the
-- topic 'pageviews'; the tables below keep the windowed counts up to date as events arrive
-- and answer pull queries at any moment.
--
-- In the REPL, with the generator writing into the same data directory:
--   rivulet> datagen --quickstart pageviews --topic pageviews --rate 10
--   rivulet> RUN SCRIPT 'queries/pageviews.sql';
-- The last statement streams the per-region counts as they change (Ctrl-C stops it); then
--   rivulet> SELECT * FROM pageviews_per_region WHERE regionid = 'Region_3';

CREATE STREAM IF NOT EXISTS pageviews (pageid VARCHAR KEY, viewtime BIGINT, userid VARCHAR, regionid VARCHAR)
  WITH (KAFKA_TOPIC='pageviews', VALUE_FORMAT='JSON', PARTITIONS=1, TIMESTAMP='viewtime');

-- Views and distinct viewers per region and minute.
CREATE TABLE IF NOT EXISTS pageviews_per_region AS
  SELECT regionid, COUNT(*) AS views, COUNT_DISTINCT(userid) AS users
  FROM pageviews
  WINDOW TUMBLING (SIZE 1 MINUTE)
  GROUP BY regionid
  EMIT CHANGES;

-- Views per user every five minutes, and the last page each user looked at.
CREATE TABLE IF NOT EXISTS pageviews_per_user AS
  SELECT userid, COUNT(*) AS views, LATEST_BY_OFFSET(pageid) AS last_page
  FROM pageviews
  WINDOW TUMBLING (SIZE 5 MINUTES)
  GROUP BY userid
  EMIT CHANGES;

-- The per-region counts, live.
SELECT * FROM pageviews_per_region EMIT CHANGES;
