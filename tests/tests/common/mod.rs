//! Helpers shared by the server, connection and transaction tests:
//! differential runs of the same commands on `tandem` and `redis-server`.

#![allow(dead_code)] // each test file uses a different subset

use tandem_tests::{have_redis, Conn, Reply};

/// Fail clearly when redis-server is missing.
pub fn need_redis() {
    assert!(
        have_redis(),
        "redis-server is required (apt-get install redis-server)"
    );
}

/// `+OK`
pub fn ok() -> Reply {
    Reply::Simple("OK".into())
}

/// An error reply with this text.
pub fn err(s: &str) -> Reply {
    Reply::Error(s.into())
}

/// Run each command on both connections (tandem first, then redis) and
/// assert the replies are equal.
pub fn run_both(t: &mut Conn, r: &mut Conn, cmds: &[&[&str]]) {
    for cmd in cmds {
        let a = t.cmd(cmd);
        let b = r.cmd(cmd);
        assert_eq!(a, b, "reply to {cmd:?}: tandem vs redis");
    }
}

/// Start tandem and redis-server with the same extra arguments and check
/// that one connection to each gets the same replies to `cmds`.
pub fn script_matches_redis(extra: &[&str], cmds: &[&[&str]]) {
    need_redis();
    let t = tandem_tests::Server::tandem(extra);
    let r = tandem_tests::Server::redis(extra);
    run_both(&mut t.conn(), &mut r.conn(), cmds);
}
