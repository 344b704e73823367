//! Replicas of one service starting together on a fresh PostgreSQL schema all open their
//! store (found by the chaos run: one of two delivery replicas exited with "db error").

mod common;

use common::stores::POSTGRES;
use mall_services::store::postgres::PostgresStore;

#[test]
fn replicas_opening_a_fresh_schema_together_all_start() {
    let schema = format!("mall_open_race_{}", std::process::id());
    PostgresStore::drop_schema(POSTGRES, &schema).expect("clean slate");
    let opened: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| s.spawn(|| PostgresStore::open(POSTGRES, &schema).map(|_| ())))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("no panic"))
            .collect()
    });
    PostgresStore::drop_schema(POSTGRES, &schema).expect("drop");
    for r in &opened {
        assert!(r.is_ok(), "every replica opens its store: {opened:?}");
    }
}
