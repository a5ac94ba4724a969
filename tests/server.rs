//! The HTTP server over real loopback connections: ksqlDB's endpoints and bodies, errors and
//! their codes, concurrent push subscribers, /close-query, a slow client cut off, basic auth,
//! TLS, HTTP/2 and a graceful shutdown.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rivulet::client::{Client, ClientError, Method};
use rivulet::engine::{Engine, EngineConfig, Session};
use rivulet::server::{ServerConfig, ServerHandle};
use serde_json::{Value, json};

struct TestServer {
    runtime: tokio::runtime::Runtime,
    handle: Option<ServerHandle>,
    engine: Arc<Engine>,
}

impl TestServer {
    fn start(config: ServerConfig) -> TestServer {
        let engine = Arc::new(
            Engine::open(EngineConfig {
                data_dir: None,
                properties: BTreeMap::new(),
                background: true,
                ..Default::default()
            })
            .unwrap(),
        );
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let config = ServerConfig { listen: "127.0.0.1:0".parse().unwrap(), ..config };
        let handle = runtime.block_on(rivulet::server::start(engine.clone(), config)).unwrap();
        TestServer { runtime, handle: Some(handle), engine }
    }

    fn handle(&self) -> &ServerHandle {
        self.handle.as_ref().unwrap()
    }

    fn url(&self) -> String {
        self.handle().url()
    }

    fn client(&self) -> Client {
        Client::new(&self.url()).unwrap()
    }

    fn shutdown(&mut self) {
        if let Some(handle) = self.handle.take() {
            self.runtime.block_on(handle.shutdown());
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn earliest() -> Session {
    session("earliest")
}

fn session(offset_reset: &str) -> Session {
    Session {
        properties: BTreeMap::from([("auto.offset.reset".to_string(), offset_reset.to_string())]),
        variables: BTreeMap::new(),
    }
}

fn server_error(result: Result<impl std::fmt::Debug, ClientError>) -> (u16, Value) {
    match result {
        Err(ClientError::Server(e)) => (e.status, e.body),
        other => panic!("expected an error answer, got {other:?}"),
    }
}

fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn ksql_statements_answer_entities_and_errors_have_ksqldb_bodies() {
    let server = TestServer::start(ServerConfig { max_request_bytes: 4096, ..ServerConfig::default() });
    let client = server.client();
    let entities = client
        .ksql(
            "CREATE STREAM s (k VARCHAR KEY, v INT) WITH (KAFKA_TOPIC='s', VALUE_FORMAT='JSON', PARTITIONS=1);
             CREATE TABLE t AS SELECT k, COUNT(*) AS c FROM s GROUP BY k;
             SHOW STREAMS;",
            &earliest(),
        )
        .unwrap();
    assert_eq!(entities.len(), 3);
    assert_eq!(entities[0]["@type"], "currentStatus");
    assert_eq!(entities[0]["commandStatus"]["status"], "SUCCESS");
    assert_eq!(entities[0]["commandStatus"]["message"], "Stream created");
    assert_eq!(entities[0]["commandId"], "stream/`S`/create");
    assert!(entities[1]["commandStatus"]["queryId"].as_str().unwrap().starts_with("CTAS_T"));
    assert_eq!(entities[2]["@type"], "streams");
    assert_eq!(entities[2]["streams"][0]["name"], "S");
    assert_eq!(entities[2]["streams"][0]["valueFormat"], "JSON");

    // /status knows the command.
    let status = client.get("/status/stream/%60S%60/create").unwrap();
    assert_eq!(status["status"], "SUCCESS");

    // A bad statement after a good one: statement_error naming it, with the good one's entity.
    let (status, body) = server_error(client.ksql(
        "CREATE STREAM ok1 (a INT) WITH (KAFKA_TOPIC='ok1', VALUE_FORMAT='JSON', PARTITIONS=1);
         CREATE STREAM bad (a INT) WITH (KAFKA_TOPIC='bad');",
        &Session::default(),
    ));
    assert_eq!(status, 400);
    assert_eq!(body["@type"], "statement_error");
    assert_eq!(body["error_code"], 40001);
    assert!(body["message"].as_str().unwrap().contains("VALUE_FORMAT"), "{body}");
    assert!(body["statementText"].as_str().unwrap().contains("CREATE STREAM bad"));
    assert_eq!(body["entities"].as_array().unwrap().len(), 1);

    // A syntax error names its position.
    let (status, body) = server_error(client.ksql("CREATE STREM x;", &Session::default()));
    assert_eq!((status, body["error_code"].as_u64()), (400, Some(40001)));
    assert!(body["message"].as_str().unwrap().contains("line 1:"), "{body}");

    // Queries belong on /query.
    let (status, body) = server_error(client.ksql("SELECT * FROM s EMIT CHANGES;", &Session::default()));
    assert_eq!((status, body["error_code"].as_u64()), (400, Some(40002)));

    // Malformed JSON, an unknown endpoint, a body over the limit.
    let (status, body) = server_error(client.send_raw(Method::POST, "/ksql", "{nope".into(), "application/json", &[]));
    assert_eq!(
        (status, body["@type"].as_str(), body["error_code"].as_u64()),
        (400, Some("generic_error"), Some(40000))
    );
    let (status, body) = server_error(client.send(Method::GET, "/no/such/thing", None, "application/json", &[]));
    assert_eq!((status, body["error_code"].as_u64()), (404, Some(40400)));
    let big = json!({"ksql": format!("SHOW STREAMS; -- {}", "x".repeat(8000))});
    let (status, body) = server_error(client.send(Method::POST, "/ksql", Some(big), "application/json", &[]));
    assert_eq!((status, body["error_code"].as_u64()), (413, Some(41300)));

    let info = client.get("/info").unwrap();
    assert_eq!(info["KsqlServerInfo"]["serverStatus"], "RUNNING");
    let health = client.get("/healthcheck").unwrap();
    assert_eq!(health["isHealthy"], true);
}

/// Reads a delimited /query-stream answer's rows (after its header) until `n` arrived.
fn read_rows(stream: &mut rivulet::client::LineStream<'_>, n: usize) -> Vec<Value> {
    let mut rows = Vec::new();
    while rows.len() < n {
        let line = stream.next_line_timeout(Duration::from_secs(10)).unwrap().expect("a row before the timeout");
        rows.push(serde_json::from_str(&line).unwrap());
    }
    rows
}

#[test]
fn pull_and_push_queries_stream_in_ksqldb_formats_to_many_subscribers() {
    let server = TestServer::start(ServerConfig::default());
    let client = server.client();
    client
        .ksql(
            "CREATE STREAM s (k VARCHAR KEY, v INT) WITH (KAFKA_TOPIC='s', VALUE_FORMAT='JSON', PARTITIONS=1);
             INSERT INTO s (k, v) VALUES ('a', 1);
             INSERT INTO s (k, v) VALUES ('b', 2);
             INSERT INTO s (k, v) VALUES ('a', 3);
             CREATE TABLE t AS SELECT k, SUM(v) AS total FROM s GROUP BY k;",
            &earliest(),
        )
        .unwrap();
    eventually("the table to catch up", || {
        let mut stream = client.query_v1("SELECT * FROM t WHERE k = 'a';", &Session::default()).unwrap();
        let mut objects = Vec::new();
        while let Some(object) = stream.next_array_element(None).unwrap() {
            objects.push(object);
        }
        assert_eq!(objects[0]["header"]["schema"], "`K` STRING KEY, `TOTAL` INTEGER");
        objects.get(1).is_some_and(|row| row["row"]["columns"] == json!(["a", 4]))
    });

    // Delimited pull: metadata line, then one array per row.
    let mut stream = client.query_stream("SELECT * FROM t;", &Session::default()).unwrap();
    let header = stream.header().unwrap();
    assert_eq!(header["columnNames"], json!(["K", "TOTAL"]));
    assert_eq!(header["columnTypes"], json!(["STRING", "INTEGER"]));
    let mut rows = vec![stream.next_line().unwrap().unwrap(), stream.next_line().unwrap().unwrap()];
    rows.sort();
    assert_eq!(rows, vec![r#"["a",4]"#, r#"["b",2]"#]);
    assert_eq!(stream.next_line().unwrap(), None);

    // v1 push with LIMIT: rows, then "Limit Reached", then the array closes.
    let mut stream = client.query_v1("SELECT * FROM s EMIT CHANGES LIMIT 2;", &earliest()).unwrap();
    let mut objects = Vec::new();
    while let Some(object) = stream.next_array_element(Some(Duration::from_secs(10))).unwrap() {
        objects.push(object);
    }
    assert_eq!(objects.len(), 4, "{objects:?}");
    assert!(objects[0]["header"]["queryId"].as_str().unwrap().starts_with("transient_S_"));
    assert_eq!(objects[0]["header"]["schema"], "`K` STRING, `V` INTEGER");
    assert_eq!(objects[1], json!({"row": {"columns": ["a", 1]}}));
    assert_eq!(objects[3], json!({"finalMessage": "Limit Reached"}));

    // Twenty subscribers from the latest offset, then five inserts: each sees all five.
    let url = server.url();
    let latest = session("latest");
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let subscribers: Vec<_> = (0..20)
        .map(|_| {
            let url = url.clone();
            let latest = latest.clone();
            let ready = ready_tx.clone();
            std::thread::spawn(move || {
                let client = Client::new(&url).unwrap();
                let mut stream = client.query_stream("SELECT k, v FROM s EMIT CHANGES;", &latest).unwrap();
                let id = stream.header().unwrap()["queryId"].as_str().unwrap().to_string();
                ready.send(id).unwrap();
                read_rows(&mut stream, 5)
            })
        })
        .collect();
    let ids: Vec<String> = (0..20).map(|_| ready_rx.recv_timeout(Duration::from_secs(10)).unwrap()).collect();
    assert_eq!(server.handle().running_push_queries(), 20);
    let rows: Vec<Value> = (0..5).map(|i| json!({"K": format!("k{i}"), "V": i})).collect();
    let acks = client.insert("S", &rows).unwrap();
    assert_eq!(acks, (0..5).map(|i| json!({"status": "ok", "seq": i})).collect::<Vec<_>>());
    for subscriber in subscribers {
        let got = subscriber.join().unwrap();
        assert_eq!(got, (0..5).map(|i| json!([format!("k{i}"), i])).collect::<Vec<_>>());
    }
    // The clients went away: their queries stop.
    eventually("disconnected subscribers' queries to stop", || server.handle().running_push_queries() == 0);

    // /close-query ends a running push query's answer.
    let mut stream = client.query_stream("SELECT * FROM s EMIT CHANGES;", &latest).unwrap();
    let id = stream.header().unwrap()["queryId"].as_str().unwrap().to_string();
    assert!(ids.iter().all(|other| other != &id));
    Client::new(&url).unwrap().close_query(&id).unwrap();
    assert_eq!(stream.next_line_timeout(Duration::from_secs(10)).unwrap(), None);
    assert!(!stream.is_open());
    let (status, body) = server_error(client.close_query("transient_NOPE_1"));
    assert_eq!((status, body["error_code"].as_u64()), (400, Some(40000)));

    // A bad row ends an inserts stream with an error naming its sequence number.
    let acks = client.insert("S", &[json!({"K": "x", "V": 1}), json!({"K": "y", "V": "not a number"})]).unwrap();
    assert_eq!(acks[0], json!({"status": "ok", "seq": 0}));
    assert_eq!(acks[1]["status"], "error");
    assert_eq!(acks[1]["seq"], 1);
}

#[test]
fn a_client_that_stops_reading_is_disconnected_and_its_query_stopped() {
    let server = TestServer::start(ServerConfig {
        slow_client_timeout: Duration::from_millis(500),
        client_buffer: 4,
        ..ServerConfig::default()
    });
    server
        .engine
        .execute("CREATE STREAM big (k VARCHAR KEY, pad VARCHAR) WITH (KAFKA_TOPIC='big', VALUE_FORMAT='JSON', PARTITIONS=1);")
        .unwrap();
    // Far more than the socket buffers, the client buffer and the query's buffer hold.
    let backend = server.engine.backend();
    let pad = "p".repeat(200);
    for chunk in 0..40 {
        let records = (0..5000)
            .map(|i| rivulet::topic::ProducerRecord {
                partition: Some(0),
                timestamp: 1,
                key: Some(format!("k{}", chunk * 5000 + i).into_bytes().into()),
                value: Some(format!(r#"{{"PAD":"{pad}"}}"#).into_bytes().into()),
                headers: Vec::new(),
            })
            .collect();
        backend.produce("big", records).unwrap();
    }
    let client = server.client();
    let mut stream = client.query_stream("SELECT * FROM big EMIT CHANGES;", &earliest()).unwrap();
    stream.header().unwrap();
    assert_eq!(server.handle().running_push_queries(), 1);
    // The client reads nothing: the server gives up on it.
    eventually("the slow client's query to stop", || server.handle().running_push_queries() == 0);
    // And closes the connection: reading what was buffered ends instead of waiting forever.
    let started = Instant::now();
    let mut rows = 0;
    let mut last = String::new();
    loop {
        match stream.next_line_timeout(Duration::from_secs(10)) {
            Ok(Some(line)) => {
                rows += 1;
                last = line;
            }
            Ok(None) if stream.is_open() => panic!("the connection stayed open after the disconnect"),
            Ok(None) | Err(_) => break,
        }
        assert!(started.elapsed() < Duration::from_secs(30), "reading never ended");
    }
    assert!(rows < 200_000, "the slow client got every row ({rows}): it was never cut off");
    if last.starts_with('{') {
        assert!(last.contains("Disconnected"), "{last}");
    }
}

#[test]
fn basic_authentication_guards_every_endpoint_but_health_probes() {
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users");
    std::fs::write(&users, format!("{}\n", rivulet::server::auth::hash_line("ada", "s3cret").unwrap())).unwrap();
    let server = TestServer::start(ServerConfig { auth_file: Some(users), ..ServerConfig::default() });
    let (status, body) = server_error(server.client().get("/info"));
    assert_eq!((status, body["error_code"].as_u64()), (401, Some(40100)));
    let (status, _) =
        server_error(server.client().basic_auth("ada", "wrong").ksql("SHOW STREAMS;", &Session::default()));
    assert_eq!(status, 401);
    let info = server.client().basic_auth("ada", "s3cret").get("/info").unwrap();
    assert_eq!(info["KsqlServerInfo"]["serverStatus"], "RUNNING");
    let with_url = Client::new(&server.url().replace("http://", "http://ada:s3cret@")).unwrap();
    assert!(with_url.ksql("SHOW STREAMS;", &Session::default()).is_ok());
    assert_eq!(server.client().get("/chc/live").unwrap(), json!({}));
}

#[test]
fn tls_serves_https_with_the_given_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
    let server = TestServer::start(ServerConfig { tls: Some((cert.clone(), key)), ..ServerConfig::default() });
    let port = server.handle().local_addr().port();
    assert!(server.url().starts_with("https://"));
    let client = Client::with_ca(&format!("https://localhost:{port}"), &cert).unwrap();
    let entities = client.ksql("SHOW STREAMS;", &Session::default()).unwrap();
    assert_eq!(entities[0]["@type"], "streams");
    // Without trusting the certificate, or in plain HTTP, nothing gets through.
    assert!(matches!(
        Client::new(&format!("https://localhost:{port}")).unwrap().get("/info"),
        Err(ClientError::Transport(_))
    ));
    assert!(Client::new(&format!("http://localhost:{port}")).unwrap().get("/info").is_err());
}

#[test]
fn http2_clients_are_served_without_tls() {
    use http_body_util::BodyExt;
    let server = TestServer::start(ServerConfig::default());
    server
        .engine
        .execute(
            "CREATE STREAM s (k VARCHAR KEY, v INT) WITH (KAFKA_TOPIC='s', VALUE_FORMAT='JSON', PARTITIONS=1);
             INSERT INTO s (k, v) VALUES ('a', 1);",
        )
        .unwrap();
    let addr = server.handle().local_addr();
    let body = server.runtime.block_on(async move {
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (mut sender, connection) = hyper::client::conn::http2::handshake(
            hyper_util::rt::TokioExecutor::new(),
            hyper_util::rt::TokioIo::new(tcp),
        )
        .await
        .unwrap();
        tokio::spawn(connection);
        let request = hyper::Request::post(format!("http://{addr}/query-stream"))
            .body(http_body_util::Full::new(bytes::Bytes::from(
                r#"{"sql": "SELECT * FROM s EMIT CHANGES LIMIT 1;", "properties": {"auto.offset.reset": "earliest"}}"#,
            )))
            .unwrap();
        let response = sender.send_request(request).await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.version(), hyper::Version::HTTP_2);
        let rows = response.into_body().collect().await.unwrap().to_bytes();
        // The push query moved the connection to the push threads; it goes on serving there.
        let request = hyper::Request::post(format!("http://{addr}/ksql"))
            .body(http_body_util::Full::new(bytes::Bytes::from(r#"{"ksql": "LIST STREAMS;"}"#)))
            .unwrap();
        let response = sender.send_request(request).await.unwrap();
        assert_eq!(response.status(), 200);
        let listed = response.into_body().collect().await.unwrap().to_bytes();
        (rows, listed)
    });
    let (rows, listed) = body;
    let text = String::from_utf8(rows.to_vec()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert_eq!(lines[1], r#"["a",1]"#);
    let listed: Value = serde_json::from_slice(&listed).unwrap();
    assert_eq!(listed[0]["streams"][0]["name"], "S", "{listed}");
}

/// Sends one HTTP/1.1 request on a raw socket (kept alive).
fn send_raw_request(tcp: &mut std::net::TcpStream, path: &str, body: &str) {
    use std::io::Write;
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    tcp.write_all(request.as_bytes()).unwrap();
}

/// Reads from a raw socket, appending to `received`, until it holds `wanted`.
fn read_until(tcp: &mut std::net::TcpStream, received: &mut Vec<u8>, wanted: &str) {
    use std::io::Read;
    tcp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut buffer = [0u8; 64 * 1024];
    while !String::from_utf8_lossy(received).contains(wanted) {
        let n = tcp.read(&mut buffer).unwrap();
        assert!(n > 0, "the connection closed before {wanted:?} came: {}", String::from_utf8_lossy(received));
        received.extend_from_slice(&buffer[..n]);
    }
}

#[test]
fn a_keep_alive_connection_serves_requests_after_a_push_query_on_it_ends() {
    let server = TestServer::start(ServerConfig::default());
    server
        .engine
        .execute("CREATE STREAM ka (k VARCHAR KEY, v INT) WITH (KAFKA_TOPIC='ka', VALUE_FORMAT='JSON', PARTITIONS=1);")
        .unwrap();
    let mut tcp = std::net::TcpStream::connect(server.handle().local_addr()).unwrap();
    send_raw_request(
        &mut tcp,
        "/query-stream",
        r#"{"sql": "SELECT * FROM ka EMIT CHANGES LIMIT 2;", "properties": {"auto.offset.reset": "earliest"}}"#,
    );
    server.client().insert("KA", &[json!({"K": "a", "V": 1}), json!({"K": "b", "V": 2})]).unwrap();
    let mut received = Vec::new();
    // The push query's body ends (its last chunk) after its LIMIT...
    read_until(&mut tcp, &mut received, "\r\n0\r\n\r\n");
    let push = String::from_utf8(received.clone()).unwrap();
    assert!(push.contains(r#"["a",1]"#) && push.contains(r#"["b",2]"#), "{push}");
    // ...and the same connection answers the next request.
    received.clear();
    send_raw_request(&mut tcp, "/ksql", r#"{"ksql": "LIST STREAMS;"}"#);
    read_until(&mut tcp, &mut received, "\"KA\"");
    assert!(String::from_utf8_lossy(&received).starts_with("HTTP/1.1 200"));
}

#[test]
fn the_rows_of_one_insert_request_reach_a_push_client_together() {
    use std::io::Read;
    let server = TestServer::start(ServerConfig::default());
    server
        .engine
        .execute("CREATE STREAM tg (k VARCHAR KEY, v INT) WITH (KAFKA_TOPIC='tg', VALUE_FORMAT='JSON', PARTITIONS=1);")
        .unwrap();
    let mut tcp = std::net::TcpStream::connect(server.handle().local_addr()).unwrap();
    send_raw_request(&mut tcp, "/query-stream", r#"{"sql": "SELECT * FROM tg EMIT CHANGES;"}"#);
    let mut received = Vec::new();
    read_until(&mut tcp, &mut received, "columnNames");
    // The request's last row has no newline (the body ends there): it is still written, made
    // durable and fanned out with the others, so they all leave in one write and arrive in
    // one read — rather than the last one a flush later, after a second wake-up of every
    // client following the stream.
    let rows: Vec<Value> = (0..5).map(|i| json!({"K": format!("k{i}"), "V": i})).collect();
    let acks = server.client().insert("TG", &rows).unwrap();
    assert_eq!(acks.len(), 5);
    let mut buffer = [0u8; 64 * 1024];
    let n = tcp.read(&mut buffer).unwrap();
    let first_read = String::from_utf8_lossy(&buffer[..n]);
    for i in 0..5 {
        assert!(first_read.contains(&format!(r#"["k{i}",{i}]"#)), "row {i} came later: {first_read:?}");
    }
}

#[test]
fn shutdown_ends_running_push_queries_with_a_message() {
    let mut server = TestServer::start(ServerConfig::default());
    server
        .engine
        .execute("CREATE STREAM s (k VARCHAR KEY, v INT) WITH (KAFKA_TOPIC='s', VALUE_FORMAT='JSON', PARTITIONS=1);")
        .unwrap();
    let url = server.url();
    let reader = std::thread::spawn(move || {
        let client = Client::new(&url).unwrap();
        let mut stream = client.query_v1("SELECT * FROM s EMIT CHANGES;", &Session::default()).unwrap();
        let mut objects = Vec::new();
        while let Ok(Some(object)) = stream.next_array_element(Some(Duration::from_secs(20))) {
            objects.push(object);
        }
        objects
    });
    eventually("the push query to start", || server.handle().running_push_queries() == 1);
    let started = Instant::now();
    server.shutdown();
    assert!(started.elapsed() < Duration::from_secs(10));
    let objects = reader.join().unwrap();
    let last = objects.last().unwrap();
    assert_eq!(last["errorMessage"]["error_code"], 50303, "{objects:?}");
}

#[test]
fn print_streams_a_topics_records_as_ksqldb_prints_them() {
    let server = TestServer::start(ServerConfig::default());
    let client = server.client();
    client
        .ksql(
            "CREATE STREAM s (k VARCHAR KEY, v INT) WITH (KAFKA_TOPIC='s_topic', VALUE_FORMAT='JSON', PARTITIONS=1);
             INSERT INTO s (ROWTIME, k, v) VALUES (0, 'a', 1);
             INSERT INTO s (ROWTIME, k, v) VALUES (1000, 'b', 2);",
            &Session::default(),
        )
        .unwrap();
    let mut stream = client.query_stream("PRINT 's_topic' FROM BEGINNING LIMIT 2;", &Session::default()).unwrap();
    let mut lines = Vec::new();
    while let Some(line) = stream.next_line_timeout(Duration::from_secs(10)).unwrap() {
        lines.push(line);
    }
    assert_eq!(
        lines,
        vec![
            "Key format: KAFKA_STRING",
            "Value format: JSON or KAFKA_STRING",
            r#"rowtime: 1970/01/01 00:00:00.000 Z, key: a, value: {"V":1}, partition: 0"#,
            r#"rowtime: 1970/01/01 00:00:01.000 Z, key: b, value: {"V":2}, partition: 0"#,
        ]
    );
    let (status, body) = server_error(client.query_stream("PRINT 'nope';", &Session::default()).map(|_| ()));
    assert_eq!((status, body["error_code"].as_u64()), (400, Some(40001)));
    assert!(body["message"].as_str().unwrap().contains("nope"), "{body}");
}

#[test]
fn rows_sent_together_are_written_together_up_to_the_first_bad_one() {
    let server = TestServer::start(ServerConfig::default());
    server
        .engine
        .execute("CREATE STREAM g (k VARCHAR KEY, v INT) WITH (KAFKA_TOPIC='g', VALUE_FORMAT='JSON', PARTITIONS=1);")
        .unwrap();
    let client = server.client();
    // One request, so the rows arrive together: the two before the bad one are written and
    // acked, the bad one is answered with its sequence number, the one after is not written.
    let rows =
        [json!({"K": "a", "V": 1}), json!({"K": "b", "V": 2}), json!({"K": "c", "V": "x"}), json!({"K": "d", "V": 4})];
    let acks = client.insert("G", &rows).unwrap();
    assert_eq!(&acks[..2], &[json!({"status": "ok", "seq": 0}), json!({"status": "ok", "seq": 1})]);
    assert_eq!((acks[2]["status"].as_str(), acks[2]["seq"].as_i64()), (Some("error"), Some(2)));
    assert_eq!(acks.len(), 3, "{acks:?}");
    let written = server.engine.backend().read("g", 0, 0, 100).unwrap();
    let keys: Vec<&[u8]> = written.iter().filter_map(|r| r.key.as_deref()).collect();
    assert_eq!(keys, [b"a".as_slice(), b"b".as_slice()]);
    // Many rows in one request all land, in order, each acked once.
    let many: Vec<Value> = (0..500).map(|i| json!({"K": format!("m{i}"), "V": i})).collect();
    let acks = client.insert("G", &many).unwrap();
    assert_eq!(acks, (0..500).map(|i| json!({"status": "ok", "seq": i})).collect::<Vec<_>>());
    let written = server.engine.backend().read("g", 0, 2, 1000).unwrap();
    let keys: Vec<String> =
        written.iter().map(|r| String::from_utf8(r.key.clone().unwrap().to_vec()).unwrap()).collect();
    assert_eq!(keys, (0..500).map(|i| format!("m{i}")).collect::<Vec<_>>());
}
