//! Shards deal a plan's units round robin, each unit to exactly one shard,
//! and only a complete set of shards merges.

use lstm_accel_verify::shard::{check_complete, Shard};

#[test]
fn shards_partition_the_plan_and_parse_k_of_n() {
    for n in 1..=7 {
        let shards: Vec<Shard> = (1..=n)
            .map(|k| format!("{k}/{n}").parse().expect("parses"))
            .collect();
        for i in 0..50 {
            assert_eq!(
                shards.iter().filter(|s| s.includes(i)).count(),
                1,
                "unit {i} of {n} shards"
            );
        }
        check_complete(&shards).expect("complete");
    }
    assert_eq!("1/1".parse::<Shard>(), Ok(Shard::WHOLE));
    for bad in ["0/4", "5/4", "1/0", "4", "a/b", "-1/3", ""] {
        let e = bad.parse::<Shard>().expect_err(bad);
        assert!(e.contains("K/N"), "{e}");
    }
    let s = |k, n| Shard { index: k, count: n };
    assert!(check_complete(&[s(1, 3), s(3, 3)])
        .expect_err("missing")
        .contains("2/3"));
    assert!(check_complete(&[s(1, 2), s(1, 2), s(2, 2)])
        .expect_err("twice")
        .contains("twice"));
    assert!(check_complete(&[s(1, 2), s(2, 3)]).is_err());
    assert!(check_complete(&[]).is_err());
}
