-- IoT sensors: rolling averages per device, and an alert when a device overheats.
--
-- The problem: temperature sensors in warehouses report every few seconds. Operators want
-- each device's rolling average (a five-minute window moving by one minute) to spot drift,
-- and an alert as soon as a sensor reads above 30 °C three times or more within a minute
-- (one hot reading is noise; several are a failing cooler). Sensors with a low battery are
-- routed to a stream of their own for the maintenance team.
--
-- In the REPL:
--   rivulet> datagen --quickstart sensors --topic sensors --rate 20
--   rivulet> RUN SCRIPT 'queries/iot_sensors.sql';

CREATE STREAM IF NOT EXISTS readings (
    sensor_id VARCHAR KEY, location VARCHAR, reading_time BIGINT,
    temperature DOUBLE, humidity DOUBLE, battery DOUBLE)
  WITH (KAFKA_TOPIC='sensors', VALUE_FORMAT='JSON', PARTITIONS=1, TIMESTAMP='reading_time');

-- Rolling statistics per device: five-minute windows every minute.
CREATE TABLE IF NOT EXISTS sensor_rolling AS
  SELECT sensor_id, AVG(temperature) AS avg_temp, MIN(temperature) AS min_temp,
         MAX(temperature) AS max_temp, COUNT(*) AS readings
  FROM readings
  WINDOW HOPPING (SIZE 5 MINUTES, ADVANCE BY 1 MINUTE)
  GROUP BY sensor_id
  EMIT CHANGES;

-- Alerts: three or more readings above 30 °C in a one-minute window.
CREATE TABLE IF NOT EXISTS overheating AS
  SELECT sensor_id, COUNT(*) AS hot_readings, MAX(temperature) AS peak
  FROM readings
  WINDOW TUMBLING (SIZE 1 MINUTE)
  WHERE temperature > 30.0
  GROUP BY sensor_id
  HAVING COUNT(*) >= 3
  EMIT CHANGES;

-- Devices whose battery runs low.
CREATE STREAM IF NOT EXISTS low_battery AS
  SELECT sensor_id, location, battery, reading_time
  FROM readings
  WHERE battery < 20.0
  EMIT CHANGES;

-- The alerts, live.
SELECT * FROM overheating EMIT CHANGES;
