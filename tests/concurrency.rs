//! Concurrent helpers never lose an update: docker runs one helper process per
//! registry, and CI systems run many at once.

mod common;

use std::thread;

use common::{backends, run_command, Env};

#[test]
fn twenty_parallel_stores_all_land() {
    for backend in backends() {
        let env = Env::new(backend);
        let children: Vec<_> = (0..20)
            .map(|i| {
                let cmd = env.command(&["store"]);
                let input = format!(
                    r#"{{"ServerURL":"reg{i}.example.com","Username":"user{i}","Secret":"secret{i}"}}"#
                );
                thread::spawn(move || run_command(cmd, input.as_bytes()))
            })
            .collect();
        for child in children {
            let run = child.join().unwrap();
            assert_eq!(run.code, 0, "{backend:?}: {run:?}");
        }
        let list = env.list();
        assert_eq!(list.len(), 20, "{backend:?}: {list:?}");
        for i in 0..20 {
            let host = format!("reg{i}.example.com");
            assert_eq!(list[&host], format!("user{i}"));
            assert_eq!(
                env.secret(&host),
                Some(format!("secret{i}")),
                "{backend:?} {host}"
            );
        }
    }
}

#[test]
fn parallel_store_erase_mix_ends_consistent() {
    for backend in backends() {
        let env = Env::new(backend);
        // Keys 0..10 are stored then erased; keys 10..20 are stored twice.
        for i in 0..10 {
            env.store(&format!("mix{i}.example.com"), "u", "old").ok();
        }
        let children: Vec<_> = (0..20)
            .map(|i| {
                let host = format!("mix{i}.example.com");
                let (cmd, input) = if i < 10 {
                    (env.command(&["erase"]), host)
                } else {
                    (
                        env.command(&["store"]),
                        format!(r#"{{"ServerURL":"{host}","Username":"u{i}","Secret":"new{i}"}}"#),
                    )
                };
                thread::spawn(move || run_command(cmd, input.as_bytes()))
            })
            .collect();
        for child in children {
            let run = child.join().unwrap();
            assert_eq!(run.code, 0, "{backend:?}: {run:?}");
        }
        let list = env.list();
        assert_eq!(list.len(), 10, "{backend:?}: {list:?}");
        for i in 0..20 {
            let host = format!("mix{i}.example.com");
            let want = (i >= 10).then(|| format!("new{i}"));
            assert_eq!(env.secret(&host), want, "{backend:?} {host}");
        }
    }
}
