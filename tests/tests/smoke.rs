//! The real `tandem` binary answers a real RESP client, and its DEBUG DIGEST
//! equals redis-server's for the same data.

use tandem_tests::{have_redis, Reply, Server};

#[test]
fn ping_set_get_over_tcp() {
    let s = Server::tandem(&[]);
    let mut c = s.conn();
    assert_eq!(c.cmd(&["PING"]), Reply::Simple("PONG".into()));
    assert_eq!(c.cmd(&["SET", "k", "v"]), Reply::Simple("OK".into()));
    assert_eq!(c.cmd(&["GET", "k"]), Reply::Bulk(Some(b"v".to_vec())));
}

#[test]
fn digest_matches_redis() {
    assert!(
        have_redis(),
        "redis-server is required (apt-get install redis-server)"
    );
    let t = Server::tandem(&[]);
    let r = Server::redis(&[]);
    for s in [&t, &r] {
        let mut c = s.conn();
        c.cmd(&["SET", "a", "1"]);
        c.cmd(&["SET", "b", "hello"]);
        c.cmd(&["SET", "c", "x", "EX", "100"]);
        c.cmd(&["SELECT", "3"]);
        c.cmd(&["SET", "a", "in db 3"]);
    }
    let dt = t.conn().cmd(&["DEBUG", "DIGEST"]);
    let dr = r.conn().cmd(&["DEBUG", "DIGEST"]);
    assert_eq!(dt, dr);
    assert_ne!(dt, Reply::Simple("0".repeat(40)));
}
