//! Persistence on the real binary: SAVE, BGSAVE, LASTSAVE, save points,
//! DEBUG RELOAD, loading at startup (with `-LOADING` answers meanwhile), and
//! files that redis-check-rdb accepts.

use std::time::{Duration, Instant};
use tandem_tests::{check_rdb, have_redis, wait_until, Conn, Reply, Server};

fn some_data(c: &mut Conn) {
    c.cmd(&["SET", "s", "string"]);
    c.cmd(&["SET", "n", "12345"]);
    c.cmd(&["SET", "ttl", "v", "EX", "100000"]);
    c.cmd(&["RPUSH", "l", "a", "b", "c"]);
    c.cmd(&["HSET", "h", "f", "v", "g", "w"]);
    c.cmd(&["SADD", "s:int", "1", "2", "3"]);
    c.cmd(&["SADD", "s:str", "x", "y"]);
    c.cmd(&["ZADD", "z", "1.5", "a", "-3", "b"]);
    c.cmd(&["SELECT", "5"]);
    c.cmd(&["SET", "in-db-5", "x"]);
    c.cmd(&["SELECT", "0"]);
}

fn int(r: Reply) -> i64 {
    r.int()
}

#[test]
fn save_bgsave_and_restart_keep_the_dataset() {
    assert!(have_redis(), "redis-check-rdb comes with redis-tools");
    let mut t = Server::tandem(&[]);
    let mut c = t.conn();
    some_data(&mut c);
    let digest = c.cmd(&["DEBUG", "DIGEST"]);
    let before = int(c.cmd(&["LASTSAVE"]));
    assert_eq!(c.cmd(&["SAVE"]), Reply::Simple("OK".into()));
    assert!(int(c.cmd(&["LASTSAVE"])) >= before);
    let file = t.dir.join("dump.rdb");
    check_rdb(&file);
    c.cmd(&["SET", "after-save", "1"]);
    assert_eq!(
        c.cmd(&["BGSAVE"]),
        Reply::Simple("Background saving started".into())
    );
    wait_until("bgsave done", Duration::from_secs(10), || {
        t.conn()
            .cmd(&["INFO", "persistence"])
            .text()
            .contains("rdb_bgsave_in_progress:0")
    });
    let digest2 = c.cmd(&["DEBUG", "DIGEST"]);
    assert_ne!(digest, digest2);
    // Started with --save "": SIGTERM does not save, the BGSAVE file is what loads.
    t.terminate();
    t.restart();
    assert_eq!(t.conn().cmd(&["DEBUG", "DIGEST"]), digest2);
    assert_eq!(
        t.conn().cmd(&["GET", "after-save"]),
        Reply::Bulk(Some(b"1".to_vec()))
    );
}

#[test]
fn save_points_trigger_a_background_save() {
    let t = Server::tandem(&["--save", "1 1"]);
    let mut c = t.conn();
    let before = int(c.cmd(&["LASTSAVE"]));
    std::thread::sleep(Duration::from_millis(1100));
    c.cmd(&["SET", "k", "v"]);
    wait_until("a save point fired", Duration::from_secs(10), || {
        int(t.conn().cmd(&["LASTSAVE"])) > before
    });
    assert!(t.dir.join("dump.rdb").exists());
}

#[test]
fn debug_reload_round_trips_the_dataset() {
    let t = Server::tandem(&[]);
    let mut c = t.conn();
    some_data(&mut c);
    let digest = c.cmd(&["DEBUG", "DIGEST"]);
    assert_eq!(c.cmd(&["DEBUG", "RELOAD"]), Reply::Simple("OK".into()));
    assert_eq!(c.cmd(&["DEBUG", "DIGEST"]), digest);
    assert_eq!(
        c.cmd(&["DEBUG", "RELOAD", "NOSAVE"]),
        Reply::Simple("OK".into())
    );
    assert_eq!(c.cmd(&["DEBUG", "DIGEST"]), digest);
    assert_eq!(
        c.cmd(&["OBJECT", "ENCODING", "s:int"]),
        Reply::Bulk(Some(b"intset".to_vec()))
    );
}

#[test]
fn a_big_file_loads_at_startup_while_clients_get_loading() {
    assert!(have_redis(), "redis-server is required");
    // A real redis-server writes a large file.
    let r = Server::redis(&[]);
    let mut rc = r.conn();
    assert_eq!(
        rc.cmd(&["DEBUG", "POPULATE", "300000"]),
        Reply::Simple("OK".into())
    );
    assert_eq!(rc.cmd(&["SAVE"]), Reply::Simple("OK".into()));
    let redis_digest = rc.cmd(&["DEBUG", "DIGEST"]);
    let mut t = Server::tandem(&[]);
    t.terminate();
    std::fs::copy(r.dir.join("dump.rdb"), t.dir.join("dump.rdb")).expect("copy the file");
    t.respawn();
    let mut saw_loading = false;
    let start = Instant::now();
    loop {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "load did not finish"
        );
        let Ok(mut c) = Conn::try_connect(t.port) else {
            std::thread::sleep(Duration::from_millis(5));
            continue;
        };
        match c.try_cmd(&["PING"]) {
            Ok(Reply::Simple(s)) if s == "PONG" => break,
            Ok(Reply::Error(e)) => {
                assert_eq!(e, "LOADING Redis is loading the dataset in memory");
                saw_loading = true;
            }
            _ => {}
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(
        saw_loading,
        "a client connected during the load was told LOADING"
    );
    let mut c = t.conn();
    assert_eq!(c.cmd(&["DBSIZE"]), Reply::Int(300_000));
    assert_eq!(c.cmd(&["DEBUG", "DIGEST"]), redis_digest);
}

/// An RDB file of `keys` string keys `k<i>` in db 0 and then `tail`
/// (raw items), with the EOF opcode and a zero (unchecked) CRC.
fn rdb_with_tail(keys: usize, tail: &[u8]) -> Vec<u8> {
    let mut f = b"REDIS0010\xfe\x00".to_vec();
    for i in 0..keys {
        let k = format!("k{i}");
        f.push(0);
        f.push(k.len() as u8);
        f.extend_from_slice(k.as_bytes());
        f.extend_from_slice(b"\x05value");
    }
    f.extend_from_slice(tail);
    f.push(0xff);
    f.extend_from_slice(&[0; 8]);
    f
}

/// A startup file that fails to load, whether the parser finds the fault
/// (a truncated file) or the keyspace builder does (a duplicate key, after
/// 200,000 good ones): the node serves an empty dataset, says why in its
/// log, and keeps the file.
#[test]
fn a_startup_file_that_fails_to_load_leaves_the_dataset_empty() {
    let mut truncated = rdb_with_tail(200_000, b"");
    truncated.truncate(truncated.len() / 2);
    let duplicate = rdb_with_tail(200_000, b"\x00\x02k7\x05again");
    let good = rdb_with_tail(1_000, b"");
    let log = std::env::temp_dir().join(format!("tandem-load-fail-{}.log", std::process::id()));
    let log_s = log.to_string_lossy().into_owned();
    for (what, file, keys, fault) in [
        ("a good file", &good, 1_000, None),
        (
            "a truncated file",
            &truncated,
            0,
            Some("Fatal error loading the DB"),
        ),
        (
            "a duplicate key",
            &duplicate,
            0,
            Some("duplicate key \"k7\" in DB 0. The dataset stays empty"),
        ),
    ] {
        let mut t = Server::tandem(&["--logfile", &log_s]);
        t.terminate();
        std::fs::write(t.dir.join("dump.rdb"), file).expect("write the file");
        let _ = std::fs::remove_file(&log);
        t.restart();
        let mut c = t.conn();
        assert_eq!(c.cmd(&["DBSIZE"]), Reply::Int(keys), "{what}");
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        match fault {
            Some(f) => assert!(text.contains(f), "{what}: log says\n{text}"),
            None => assert!(!text.contains("Fatal error"), "{what}: log says\n{text}"),
        }
        assert_eq!(c.cmd(&["SET", "after", "1"]), Reply::Simple("OK".into()));
        assert_eq!(
            std::fs::read(t.dir.join("dump.rdb")).expect("the file stays"),
            *file,
            "{what}"
        );
    }
    let _ = std::fs::remove_file(&log);
}

/// Writes of every kind, different in each round.
fn writes(round: usize) -> Vec<Vec<String>> {
    let r = round.to_string();
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let mut w = vec![
        s(&["SET", &format!("k{round}"), "overwritten"]),
        s(&["DEL", &format!("k{}", 10_000 + round)]),
        s(&["SET", &format!("new{round}"), "x"]),
        s(&["EXPIRE", &format!("k{}", 20_000 + round), "100000"]),
        s(&["PERSIST", &format!("ttl{round}")]),
        s(&["INCR", &format!("k{}", 30_000 + round)]),
        s(&["HSET", "bighash", &format!("f{round}"), "changed"]),
        s(&["HDEL", "bighash", &format!("f{}", 1000 + round)]),
        s(&["LPUSH", "biglist", &r]),
        s(&["RPOP", "biglist"]),
        s(&["SREM", "bigset", &format!("m{round}")]),
        s(&["ZADD", "bigzset", "-1", &format!("m{round}")]),
        s(&[
            "RENAME",
            &format!("k{}", 40_000 + round),
            &format!("renamed{round}"),
        ]),
    ];
    if round == 2 {
        w.push(s(&["SELECT", "2"]));
        w.push(s(&["FLUSHDB"]));
        w.push(s(&["SELECT", "0"]));
    }
    w
}

/// Send `cmds` in one pipeline and read every reply.
fn pipeline(c: &mut Conn, cmds: &[Vec<String>]) -> Vec<Reply> {
    let mut raw = Vec::new();
    for cmd in cmds {
        raw.extend_from_slice(format!("*{}\r\n", cmd.len()).as_bytes());
        for a in cmd {
            raw.extend_from_slice(format!("${}\r\n{a}\r\n", a.len()).as_bytes());
        }
    }
    c.send_raw(&raw).expect("send");
    cmds.iter()
        .map(|_| c.read_reply().expect("reply"))
        .collect()
}

/// `n` string keys `k<i>` = `value-<i>`, 5,000 to a pipeline.
fn fill_strings(c: &mut Conn, n: usize) {
    let keys: Vec<Vec<String>> = (0..n)
        .map(|i| vec!["SET".into(), format!("k{i}"), format!("value-{i}")])
        .collect();
    for chunk in keys.chunks(5000) {
        pipeline(c, chunk);
    }
}

/// BGSAVE, answered as Redis answers when no save runs yet.
fn start_bgsave(c: &mut Conn) {
    assert_eq!(
        c.cmd(&["BGSAVE"]),
        Reply::Simple("Background saving started".into())
    );
}

/// The names of the files in `dir` that start with `prefix`.
fn files_named_like(dir: &std::path::Path, prefix: &str) -> Vec<String> {
    std::fs::read_dir(dir)
        .expect("the data dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(prefix))
        .collect()
}

#[test]
fn bgsave_holds_the_dataset_of_its_start_while_writes_go_on() {
    assert!(have_redis(), "redis-server is required");
    let t = Server::tandem(&[]);
    let mut c = t.conn();
    fill_strings(&mut c, 150_000);
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let mut fill = Vec::new();
    for i in 0..3000 {
        let n = i.to_string();
        fill.push(s(&["SET", &format!("ttl{i}"), "v", "EX", "100000"]));
        fill.push(s(&["HSET", "bighash", &format!("f{i}"), &n]));
        fill.push(s(&["RPUSH", "biglist", &n]));
        fill.push(s(&["SADD", "bigset", &format!("m{i}")]));
        fill.push(s(&["ZADD", "bigzset", &n, &format!("m{i}")]));
    }
    fill.push(s(&["SELECT", "2"]));
    for i in 0..1000 {
        fill.push(s(&["SET", &format!("db2-{i}"), "x"]));
    }
    fill.push(s(&["SELECT", "0"]));
    pipeline(&mut c, &fill);
    let digest = c.cmd(&["DEBUG", "DIGEST"]);

    // The first writes travel with BGSAVE: they run before any of the
    // snapshot is encoded. More follow while it is being written.
    let mut first = vec![s(&["BGSAVE"])];
    first.extend(writes(0));
    let replies = pipeline(&mut c, &first);
    assert_eq!(
        replies[0],
        Reply::Simple("Background saving started".into())
    );
    let mut rounds_during = 0;
    loop {
        let info = c.cmd(&["INFO", "persistence"]).text();
        if info.contains("rdb_bgsave_in_progress:0") {
            assert!(info.contains("rdb_last_bgsave_status:ok"), "{info}");
            break;
        }
        rounds_during += 1;
        assert!(rounds_during < 100_000, "BGSAVE never finished");
        pipeline(&mut c, &writes(rounds_during));
    }
    assert!(
        rounds_during > 0,
        "no write ran while the snapshot was produced"
    );
    assert_ne!(c.cmd(&["DEBUG", "DIGEST"]), digest);

    let file = t.dir.join("dump.rdb");
    check_rdb(&file);
    // A real redis-server loads exactly the dataset of BGSAVE's start.
    let mut r = Server::redis(&[]);
    r.terminate();
    std::fs::copy(&file, r.dir.join("dump.rdb")).expect("copy the file");
    r.respawn();
    wait_until("redis loaded the file", Duration::from_secs(60), || {
        Conn::try_connect(r.port)
            .ok()
            .and_then(|mut rc| rc.try_cmd(&["PING"]).ok())
            == Some(Reply::Simple("PONG".into()))
    });
    assert_eq!(r.conn().cmd(&["DEBUG", "DIGEST"]), digest);
}

/// `SHUTDOWN NOSAVE` while a background save is still being written (on
/// the driver's writer thread): the process exits without waiting for it,
/// its temp file is removed, and no `dump.rdb` appears, as when Redis kills
/// its saving child.
/// SHUTDOWN SAVE while a BGSAVE runs saves the dataset of the moment of
/// the SHUTDOWN, as Redis (which kills its saving child) does: a write made
/// after BGSAVE started is in the file the restarted node loads.
#[test]
fn shutdown_save_during_a_background_save_saves_the_latest_dataset() {
    let mut t = Server::tandem(&[]);
    let mut c = t.conn();
    fill_strings(&mut c, 300_000);
    start_bgsave(&mut c);
    // Encoding 300,000 keys takes far longer than these round trips.
    assert_eq!(c.cmd(&["SET", "later", "yes"]), Reply::Simple("OK".into()));
    assert_eq!(c.cmd(&["DEL", "k7"]), Reply::Int(1));
    let in_progress = c.cmd(&["INFO", "persistence"]).text();
    assert!(
        in_progress.contains("rdb_bgsave_in_progress:1"),
        "the BGSAVE still runs: {in_progress}"
    );
    c.send(&["SHUTDOWN", "SAVE"]).expect("send");
    assert!(
        t.wait_exit(Duration::from_secs(60)).is_some(),
        "tandem exited on SHUTDOWN SAVE"
    );
    let left = files_named_like(&t.dir, "dump.rdb.");
    assert!(left.is_empty(), "temp files left behind: {left:?}");
    t.restart();
    let mut c = t.conn();
    assert_eq!(c.cmd(&["GET", "later"]), Reply::Bulk(Some(b"yes".to_vec())));
    assert_eq!(c.cmd(&["EXISTS", "k7"]), Reply::Int(0));
    assert_eq!(c.cmd(&["DBSIZE"]), Reply::Int(300_000));
}

#[test]
fn shutdown_nosave_abandons_a_running_background_save() {
    let mut t = Server::tandem(&[]);
    let mut c = t.conn();
    fill_strings(&mut c, 300_000);
    start_bgsave(&mut c);
    // Encoding 300,000 keys takes far longer than one round trip.
    c.send(&["SHUTDOWN", "NOSAVE"]).expect("send");
    assert!(
        t.wait_exit(Duration::from_secs(20)).is_some(),
        "tandem exited on SHUTDOWN NOSAVE"
    );
    let left = files_named_like(&t.dir, "dump.rdb");
    assert!(left.is_empty(), "files left behind: {left:?}");
}
