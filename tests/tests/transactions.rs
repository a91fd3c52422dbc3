//! MULTI / EXEC / DISCARD / WATCH / UNWATCH of the real `tandem` binary,
//! compared reply for reply with a real redis-server 7.0.15.

mod common;

use common::{need_redis, run_both, script_matches_redis};
use std::time::Duration;
use tandem_tests::{Conn, Server};

#[test]
fn exec_runs_queue_and_reports_each_reply() {
    script_matches_redis(
        &[],
        &[
            &["EXEC"],
            &["DISCARD"],
            &["MULTI"],
            &["SET", "s", "hello"],
            &["INCR", "s"],
            &["HINCRBY", "s", "f", "1"],
            &["LPUSH", "s", "x"],
            &["HSET", "h", "f", "notanumber"],
            &["HINCRBY", "h", "f", "1"],
            &["SADD", "set", "a", "b"],
            &["GET", "s"],
            &["SELECT", "1"],
            &["SET", "s", "in one"],
            &["PING"],
            &["EXEC"],
            &["GET", "s"],
            &["SELECT", "0"],
            &["GET", "s"],
            &["MULTI"],
            &["EXEC"],
            &["MULTI"],
            &["SET", "a", "1"],
            &["DISCARD"],
            &["GET", "a"],
            &["EXEC"],
        ],
    );
}

#[test]
fn queueing_errors_abort_exec() {
    script_matches_redis(
        &[],
        &[
            // Unknown command while queueing.
            &["MULTI"],
            &["SET", "a", "1"],
            &["NOSUCH", "x"],
            &["SET", "b", "2"],
            &["EXEC"],
            &["GET", "a"],
            // Wrong arity while queueing.
            &["MULTI"],
            &["SET", "a"],
            &["EXEC"],
            &["EXISTS", "a"],
            // Unknown subcommand while queueing.
            &["MULTI"],
            &["CONFIG", "NOSUCH"],
            &["EXEC"],
            // DISCARD after an error clears it.
            &["MULTI"],
            &["NOSUCH"],
            &["DISCARD"],
            &["MULTI"],
            &["SET", "a", "ok"],
            &["EXEC"],
            // Nested MULTI and WATCH inside MULTI are errors that do not abort.
            &["MULTI"],
            &["MULTI"],
            &["WATCH", "a"],
            &["GET", "a"],
            &["EXEC"],
        ],
    );
}

#[test]
fn watch_sees_own_and_other_clients_writes() {
    need_redis();
    let t = Server::tandem(&[]);
    let r = Server::redis(&[]);
    let (mut t1, mut r1, mut t2, mut r2) = (t.conn(), r.conn(), t.conn(), r.conn());
    // Another client writes a watched key.
    run_both(&mut t1, &mut r1, &[&["SET", "k", "1"], &["WATCH", "k"]]);
    run_both(&mut t2, &mut r2, &[&["SET", "k", "2"]]);
    run_both(
        &mut t1,
        &mut r1,
        &[&["MULTI"], &["SET", "k", "mine"], &["EXEC"], &["GET", "k"]],
    );
    // The watcher itself writes it before MULTI.
    run_both(
        &mut t1,
        &mut r1,
        &[
            &["WATCH", "k"],
            &["SET", "k", "3"],
            &["MULTI"],
            &["GET", "k"],
            &["EXEC"],
            &["GET", "k"],
        ],
    );
    // A write that does not change the value still counts; a read does not.
    run_both(&mut t1, &mut r1, &[&["WATCH", "k", "other"]]);
    run_both(&mut t2, &mut r2, &[&["GET", "k"], &["EXISTS", "other"]]);
    run_both(
        &mut t1,
        &mut r1,
        &[&["MULTI"], &["SET", "k", "x"], &["EXEC"]],
    );
    run_both(&mut t1, &mut r1, &[&["WATCH", "k"]]);
    run_both(&mut t2, &mut r2, &[&["SET", "k", "4"]]);
    run_both(
        &mut t1,
        &mut r1,
        &[&["MULTI"], &["SET", "k", "x"], &["EXEC"]],
    );
    // A missing key that gets created; a key deleted; a key in another db.
    run_both(&mut t1, &mut r1, &[&["WATCH", "new", "k"]]);
    run_both(&mut t2, &mut r2, &[&["SET", "new", "x"]]);
    run_both(&mut t1, &mut r1, &[&["MULTI"], &["GET", "k"], &["EXEC"]]);
    run_both(&mut t1, &mut r1, &[&["WATCH", "k"]]);
    run_both(&mut t2, &mut r2, &[&["DEL", "k"]]);
    run_both(&mut t1, &mut r1, &[&["MULTI"], &["GET", "k"], &["EXEC"]]);
    run_both(&mut t1, &mut r1, &[&["WATCH", "z"]]);
    run_both(
        &mut t2,
        &mut r2,
        &[&["SELECT", "1"], &["SET", "z", "1"], &["SELECT", "0"]],
    );
    run_both(&mut t1, &mut r1, &[&["MULTI"], &["GET", "z"], &["EXEC"]]);
    // UNWATCH, EXEC and DISCARD forget the watched keys.
    run_both(&mut t1, &mut r1, &[&["WATCH", "k"], &["UNWATCH"]]);
    run_both(&mut t2, &mut r2, &[&["SET", "k", "5"]]);
    run_both(&mut t1, &mut r1, &[&["MULTI"], &["GET", "k"], &["EXEC"]]);
    run_both(
        &mut t1,
        &mut r1,
        &[&["WATCH", "k"], &["MULTI"], &["DISCARD"]],
    );
    run_both(&mut t2, &mut r2, &[&["SET", "k", "6"]]);
    run_both(&mut t1, &mut r1, &[&["MULTI"], &["GET", "k"], &["EXEC"]]);
    // A transaction that ran invalidates other watchers.
    run_both(&mut t2, &mut r2, &[&["WATCH", "k"]]);
    run_both(
        &mut t1,
        &mut r1,
        &[&["MULTI"], &["SET", "k", "7"], &["EXEC"]],
    );
    run_both(&mut t2, &mut r2, &[&["MULTI"], &["GET", "k"], &["EXEC"]]);
}

/// Set `k` with a 100 ms TTL (and `stay` without one) on a fresh connection.
/// `k` must still be alive when WATCH reaches both servers, even on a busy
/// machine, and gone by the time the test sleeps past its TTL.
fn prepare_expiring(c: &mut Conn) {
    c.cmd(&["SET", "k", "v", "PX", "1500"]);
    c.cmd(&["SET", "stay", "v"]);
}

#[test]
fn watch_and_expiry() {
    need_redis();
    let t = Server::tandem(&[]);
    let r = Server::redis(&[]);
    let (mut tc, mut rc) = (t.conn(), r.conn());
    // Watched while alive, expired before EXEC: EXEC fails.
    prepare_expiring(&mut tc);
    prepare_expiring(&mut rc);
    run_both(&mut tc, &mut rc, &[&["WATCH", "k"]]);
    std::thread::sleep(Duration::from_millis(1800));
    run_both(&mut tc, &mut rc, &[&["MULTI"], &["GET", "stay"], &["EXEC"]]);
    // Watched when already gone: its expiry is not a change.
    run_both(
        &mut tc,
        &mut rc,
        &[
            &["DEBUG", "SET-ACTIVE-EXPIRE", "0"],
            &["SET", "k", "v", "PX", "50"],
        ],
    );
    std::thread::sleep(Duration::from_millis(200));
    run_both(
        &mut tc,
        &mut rc,
        &[
            &["WATCH", "k"],
            &["GET", "k"],
            &["MULTI"],
            &["GET", "stay"],
            &["EXEC"],
            &["DEBUG", "SET-ACTIVE-EXPIRE", "1"],
        ],
    );
}

#[test]
fn flushes_touch_watched_keys() {
    script_matches_redis(
        &[],
        &[
            // FLUSHDB with a watched key that exists: EXEC fails.
            &["SET", "k", "1"],
            &["WATCH", "k"],
            &["FLUSHDB"],
            &["MULTI"],
            &["PING"],
            &["EXEC"],
            // FLUSHDB with a watched key that does not exist: EXEC runs.
            &["SET", "other", "1"],
            &["WATCH", "missing"],
            &["FLUSHDB"],
            &["MULTI"],
            &["PING"],
            &["EXEC"],
            // FLUSHALL reaches every database.
            &["SELECT", "2"],
            &["SET", "k2", "1"],
            &["WATCH", "k2"],
            &["SELECT", "0"],
            &["FLUSHALL"],
            &["MULTI"],
            &["PING"],
            &["EXEC"],
            // FLUSHDB of another database leaves this one's watchers alone.
            &["SET", "k", "1"],
            &["WATCH", "k"],
            &["SELECT", "5"],
            &["FLUSHDB"],
            &["SELECT", "0"],
            &["MULTI"],
            &["INCR", "k"],
            &["EXEC"],
            // SWAPDB changes what a watched key holds.
            &["SET", "s", "in0"],
            &["SELECT", "1"],
            &["SET", "s", "in1"],
            &["SELECT", "0"],
            &["WATCH", "s"],
            &["SWAPDB", "0", "1"],
            &["MULTI"],
            &["GET", "s"],
            &["EXEC"],
            // SWAPDB with a watched key missing on both sides: EXEC runs.
            &["WATCH", "nowhere"],
            &["SWAPDB", "0", "1"],
            &["MULTI"],
            &["GET", "s"],
            &["EXEC"],
            &["FLUSHALL"],
        ],
    );
}

#[test]
fn exec_errors_and_arity_match_redis() {
    script_matches_redis(
        &[],
        &[
            &["MULTI", "x"],
            &["WATCH"],
            &["UNWATCH", "x"],
            &["MULTI"],
            &["DISCARD", "x"],
            &["SET", "a", "1"],
            &["EXEC"],
            &["GET", "a"],
            &["MULTI"],
            &["WATCH"],
            &["EXEC"],
        ],
    );
}

#[test]
fn commands_refused_inside_multi_and_rejected_exec_abort_the_transaction() {
    script_matches_redis(
        &[],
        &[
            &["MULTI"],
            &["SET", "a", "1"],
            &["SAVE"],
            &["EXEC"],
            &["GET", "a"],
            &["MULTI"],
            &["SET", "a", "2"],
            &["EXEC", "extra"],
            &["EXEC"],
            &["GET", "a"],
            &["EXEC", "outside"],
        ],
    );
}
