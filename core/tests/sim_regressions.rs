//! Seeds on which the simulator found real bugs in the core, replayed on
//! every run so the fixes stay fixed. The list is `sim_regressions.txt`
//! (also replayed by `cargo xtask test` through the sim example).

use tandem_core::sim::run_seed;
use tandem_core::sim::swarm::regressions;

#[test]
fn regression_seeds_stay_clean() {
    let list = regressions(include_str!("sim_regressions.txt")).expect("the list parses");
    assert!(list.len() >= 5);
    for r in list {
        let out = run_seed(r.seed, &r.opts);
        assert!(
            out.violations.is_empty() && out.converged_after.is_some(),
            "seed {} ({}) fails again: {:?}\nreplay: {}",
            r.seed,
            r.bug,
            out.violations,
            out.replay_command()
        );
    }
}

#[test]
fn the_list_format_is_checked() {
    assert!(regressions("--seed 1 | ok").is_ok());
    assert!(regressions("--seed 1").is_err(), "no description");
    assert!(regressions("--fault-ms 5 | no seed").is_err());
    assert!(regressions("--seed 1 --faults nosuchkind | x").is_err());
    let r = regressions("# c\n\n--seed 9 --fault-ms 300 --keep 1,2 | y").unwrap();
    assert_eq!(
        (r[0].seed, r[0].opts.fault_ms, r[0].opts.keep.clone()),
        (9, 300, Some(vec![1, 2]))
    );
}
