"""Drives a Rivulet server with ksql-python-ng, a third-party ksqlDB client library.

Run by tests/python_client.rs as `python ksql_client.py URL`. Every step goes through the
library's own calls and reads the answers the way the library parses them; a mismatch raises,
and the script exits non-zero with the step that failed.
"""

import json
import sys
import time
import types
import warnings

# ksql.utils imports telnetlib, which Python 3.13 removed (and 3.11 warns about); the library
# only uses it to probe a Kafka broker, which this test never does.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    try:
        import telnetlib  # noqa: F401
    except ImportError:
        sys.modules["telnetlib"] = types.ModuleType("telnetlib")

from ksql import KSQLAPI  # noqa: E402
from ksql.errors import KSQLError  # noqa: E402
from ksql.utils import get_all_streams, get_stream_info  # noqa: E402

EARLIEST = {"auto.offset.reset": "earliest"}


def step(name):
    print(f"--- {name}", flush=True)


def check(condition, what, got):
    if not condition:
        raise AssertionError(f"{what}; got {got!r}")


def main(url):
    step("connect (GET /info)")
    client = KSQLAPI(url)
    version = client.get_ksql_version()
    check(isinstance(version, str) and version, "a version string", version)

    step("create a stream (POST /ksql)")
    created = client.ksql(
        "CREATE STREAM py_orders (id BIGINT KEY, customer VARCHAR, amount DOUBLE) "
        "WITH (KAFKA_TOPIC='py_orders', VALUE_FORMAT='JSON', PARTITIONS=1);"
    )
    check(created[0]["@type"] == "currentStatus", "a currentStatus entity", created)
    check(created[0]["commandStatus"]["status"] == "SUCCESS", "SUCCESS", created)
    check(created[0]["commandStatus"]["message"] == "Stream created", "Stream created", created)

    step("create a second stream over the same topic with the library's builder")
    check(
        client.create_stream("py_orders_view", ["id BIGINT KEY", "customer VARCHAR", "amount DOUBLE"], "py_orders"),
        "create_stream returns True",
        None,
    )
    streams = get_all_streams(client, prefix="py_")
    check(sorted(streams) == ["PY_ORDERS", "PY_ORDERS_VIEW"], "both streams listed by SHOW STREAMS", streams)
    info = get_stream_info(client, "py_orders")
    names = [(f["name"], f["schema"]["type"], f.get("type")) for f in info["fields"]]
    check(
        names == [("ID", "BIGINT", "KEY"), ("CUSTOMER", "STRING", None), ("AMOUNT", "DOUBLE", None)],
        "DESCRIBE's fields",
        names,
    )

    step("insert rows (POST /inserts-stream over HTTP/2)")
    acks = client.inserts_stream(
        "py_orders",
        [
            {"ID": 1, "CUSTOMER": "ada", "AMOUNT": 10.5},
            {"ID": 2, "CUSTOMER": "bob", "AMOUNT": 3.0},
        ],
    )
    check(acks == [{"status": "ok", "seq": 0}, {"status": "ok", "seq": 1}], "two acks", acks)

    step("insert a row with INSERT INTO ... VALUES (POST /ksql)")
    client.ksql("INSERT INTO py_orders (id, customer, amount) VALUES (3, 'ada', 7.0);")

    step("create a table as select")
    ctas = client.ksql(
        "CREATE TABLE py_totals AS SELECT customer, SUM(amount) AS total, COUNT(*) AS orders "
        "FROM py_orders GROUP BY customer EMIT CHANGES;",
        stream_properties=EARLIEST,
    )
    status = ctas[0]["commandStatus"]
    check(status["status"] == "SUCCESS" and status.get("queryId"), "a query id", ctas)

    expected = [
        {"ID": 1, "CUSTOMER": "ada", "AMOUNT": 10.5},
        {"ID": 2, "CUSTOMER": "bob", "AMOUNT": 3.0},
        {"ID": 3, "CUSTOMER": "ada", "AMOUNT": 7.0},
    ]

    step("push query with LIMIT, parsed by the library (POST /query-stream over HTTP/2)")
    rows = list(
        client.query(
            "SELECT id, customer, amount FROM py_orders EMIT CHANGES LIMIT 3;",
            stream_properties=EARLIEST,
            use_http2=True,
            parse=True,
        )
    )
    check(rows == expected, "the three rows", rows)

    step("push query with LIMIT, raw chunks (POST /query, ksqlDB's v1 JSON array over HTTP/1.1)")
    chunks = list(client.query("SELECT * FROM py_orders EMIT CHANGES LIMIT 3;", stream_properties=EARLIEST))
    messages = json.loads("".join(chunks))
    check("queryId" in messages[0]["header"], "a header first", messages)
    columns = [m["row"]["columns"] for m in messages[1:-1]]
    check(columns == [[r["ID"], r["CUSTOMER"], r["AMOUNT"]] for r in expected], "the rows", messages)
    check(messages[-1] == {"finalMessage": "Limit Reached"}, "Limit Reached last", messages)

    step("pull query on the table, parsed by the library (POST /query-stream over HTTP/2)")
    deadline = time.monotonic() + 30
    while True:
        rows = list(
            client.query("SELECT * FROM py_totals WHERE customer = 'ada';", use_http2=True, parse=True)
        )
        if rows == [{"CUSTOMER": "ada", "TOTAL": 17.5, "ORDERS": 2}]:
            break
        check(time.monotonic() < deadline, "ada's total within 30 s", rows)
        time.sleep(0.2)

    step("pull query on the table, raw chunks (POST /query over HTTP/1.1)")
    messages = json.loads("".join(client.query("SELECT * FROM py_totals WHERE customer = 'bob';")))
    check(messages[1:] == [{"row": {"columns": ["bob", 3.0, 1]}}], "bob's row", messages)

    step("close a push query that has no LIMIT (POST /close-query)")
    stream = client.query("SELECT * FROM py_orders EMIT CHANGES;", stream_properties=EARLIEST)
    # The first chunk is `[` and the header object (rows follow in chunks of their own).
    header, _ = json.JSONDecoder().raw_decode(next(stream).lstrip("["))
    header = header["header"]
    check(client.close_query(header["queryId"]), "close_query returns True", header)
    rest = "".join(stream)
    check(rest.rstrip().endswith("]"), "the response ends once the query is closed", rest)
    check(not client.close_query("no_such_query"), "close_query of an unknown id returns False", None)

    step("errors (statement_error bodies become KSQLError)")
    try:
        client.ksql("CREATE STREAM broken (id BIGINT KEY;")
        raise AssertionError("a bad statement was accepted")
    except KSQLError as e:
        check(e.error_code == 40001, "error code 40001", (e.error_code, e.msg))
        check("Syntax Error" in e.msg, "a syntax error message", e.msg)
    try:
        client.ksql("SELECT * FROM py_orders EMIT CHANGES;")
        raise AssertionError("a query was accepted by /ksql")
    except KSQLError as e:
        check(e.error_code == 40002, "error code 40002 for a query sent to /ksql", (e.error_code, e.msg))
    try:
        client.ksql("DESCRIBE no_such_stream;")
        raise AssertionError("DESCRIBE of an unknown stream succeeded")
    except KSQLError as e:
        check(e.error_code == 40001 and "NO_SUCH_STREAM" in e.msg.upper(), "an unknown source error", e.msg)

    step("properties (SHOW PROPERTIES)")
    properties = client.get_properties()
    check(all("name" in p and "value" in p for p in properties), "name/value pairs", properties[:3])

    print("all steps passed", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
