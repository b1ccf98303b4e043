//! The workloads, store-neutral: each one's generator, the shapes of its operations, its final
//! reads and its checkers. Every store runs these same definitions; its clients only translate
//! the operations below into its own requests.
//!
//! | workload | invocations | ok values |
//! |---|---|---|
//! | set | `add x`, `read nil` | `add x`; `read #{..}` (or a list) |
//! | counter | `add 1`, `read nil` | `read n` |
//! | register | `write [k v]`, `read [k nil]` | `read [k v]` (`v` nil when unset) |
//! | cas-register | `write [k v]`, `cas [k [old new]]`, `read [k nil]`; values 0–4 | `read [k v]`; a cas that found another value fails |
//! | list-append | `append [k v]`, `read [k nil]` | `read [k [v ..]]` |
//! | list-append (transactional) | `txn [[append k v] [r k nil] ..]` | the micro-ops with reads filled in |
//! | idempotency | `insert [id payload]`, `read nil` | `insert [id created/exists]`; `read [payload ..]` (the ledger) |
//!
//! Written values are unique across a run, except in cas-register, which is Jepsen's and
//! Knossos' register: small values, repeated, and compare-and-set, judged for linearizability. The transactional list-append variant is what
//! stores with real multi-key transactions run, so that the Elle checker judges transactions;
//! its final reads are single-key reads, as the convergence checker reads them.

use crate::client::Workload;
use crate::generator::{self, Ctx, Gen, Invocation, Rng};
use history::Value;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// Keys the keyed workloads spread over (independent keys, as Jepsen's).
pub const KEYS: i64 = 5;

/// Variants a store may ask of a workload.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// list-append as multi-key transactions (`txn`) rather than single appends and reads.
    pub transactions: bool,
}

/// A workload by name, with the checkers the registry names for it.
pub fn workload(name: &str, options: Options) -> Option<Box<dyn Workload>> {
    let kind = match name {
        "set" => Kind::Set,
        "register" => Kind::Register,
        "cas-register" => Kind::CasRegister,
        "counter" => Kind::Counter,
        "list-append" if options.transactions => Kind::ListTxn,
        "list-append" => Kind::List,
        "idempotency" => Kind::Idempotency,
        _ => return None,
    };
    Some(Box::new(Standard {
        kind,
        checkers: crate::find(name)?.checkers,
    }))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Set,
    Register,
    CasRegister,
    Counter,
    List,
    ListTxn,
    Idempotency,
}

struct Standard {
    kind: Kind,
    checkers: &'static [&'static str],
}

/// A micro-op of a transaction: `[f k v]`.
pub fn micro(f: &str, key: i64, value: Value) -> Value {
    Value::List(vec![Value::from(f), Value::Int(key), value])
}

impl Workload for Standard {
    fn name(&self) -> &'static str {
        match self.kind {
            Kind::Set => "set",
            Kind::Register => "register",
            Kind::CasRegister => "cas-register",
            Kind::Counter => "counter",
            Kind::List | Kind::ListTxn => "list-append",
            Kind::Idempotency => "idempotency",
        }
    }

    fn generator(&self) -> Gen {
        // Written values are unique across the run: one counter, advanced under the runner's
        // generator lock, so a seed replays the same values.
        let next = Arc::new(AtomicI64::new(0));
        let fresh = move || next.fetch_add(1, Ordering::Relaxed) + 1;
        let reads_one_in = |rng: &mut Rng, n: u64| rng.below(n) == 0;
        match self.kind {
            Kind::Set => generator::boxed(move |ctx: &mut Ctx<'_>| {
                if reads_one_in(ctx.rng, 5) {
                    Invocation::new("read", Value::Nil)
                } else {
                    Invocation::new("add", fresh())
                }
            }),
            Kind::Counter => generator::boxed(move |ctx: &mut Ctx<'_>| {
                if reads_one_in(ctx.rng, 5) {
                    Invocation::new("read", Value::Nil)
                } else {
                    Invocation::new("add", 1)
                }
            }),
            Kind::Register | Kind::List => {
                let write = if self.kind == Kind::List {
                    "append"
                } else {
                    "write"
                };
                generator::boxed(move |ctx: &mut Ctx<'_>| {
                    let key = Value::Int(ctx.rng.below(KEYS as u64) as i64);
                    if reads_one_in(ctx.rng, 2) {
                        Invocation::new("read", Value::List(vec![key, Value::Nil]))
                    } else {
                        Invocation::new(write, Value::List(vec![key, Value::Int(fresh())]))
                    }
                })
            }
            // Knossos' shape: reads, writes and cas in equal parts, values 0–4.
            Kind::CasRegister => generator::boxed(move |ctx: &mut Ctx<'_>| {
                let key = Value::Int(ctx.rng.below(KEYS as u64) as i64);
                let small = |rng: &mut Rng| Value::Int(rng.below(5) as i64);
                match ctx.rng.below(3) {
                    0 => Invocation::new("read", Value::List(vec![key, Value::Nil])),
                    1 => Invocation::new("write", Value::List(vec![key, small(ctx.rng)])),
                    _ => {
                        let pair = Value::List(vec![small(ctx.rng), small(ctx.rng)]);
                        Invocation::new("cas", Value::List(vec![key, pair]))
                    }
                }
            }),
            // Elle's shape: one to four micro-ops, each a read or an append of a fresh value.
            Kind::ListTxn => generator::boxed(move |ctx: &mut Ctx<'_>| {
                let n = 1 + ctx.rng.below(4);
                let ops = (0..n)
                    .map(|_| {
                        let key = ctx.rng.below(KEYS as u64) as i64;
                        if reads_one_in(ctx.rng, 2) {
                            micro("r", key, Value::Nil)
                        } else {
                            micro("append", key, Value::Int(fresh()))
                        }
                    })
                    .collect();
                Invocation::new("txn", Value::List(ops))
            }),
            Kind::Idempotency => {
                // Each process submits requests one after another, each retried until it is
                // acknowledged, as a payment client retries after a timeout.
                let fresh = Arc::new(fresh);
                generator::each_thread(move |_| {
                    let fresh = fresh.clone();
                    generator::cycle(move || {
                        let id = fresh();
                        let request =
                            Value::List(vec![Value::Str(format!("req-{id}")), Value::Int(id)]);
                        vec![generator::until_ok(generator::once(Invocation::new(
                            "insert", request,
                        )))]
                    })
                })
            }
        }
    }

    fn final_reads(&self) -> Vec<Invocation> {
        match self.kind {
            Kind::Set | Kind::Counter | Kind::Idempotency => {
                vec![Invocation::new("read", Value::Nil)]
            }
            Kind::Register | Kind::CasRegister | Kind::List | Kind::ListTxn => (0..KEYS)
                .map(|k| Invocation::new("read", Value::List(vec![Value::Int(k), Value::Nil])))
                .collect(),
        }
    }

    fn checkers(&self) -> &'static [&'static str] {
        self.checkers
    }
}

/// `[k v]` of a keyed operation.
pub fn keyed(value: &Value) -> Option<(i64, &Value)> {
    let parts = value.as_seq()?;
    Some((parts.first()?.as_int()?, parts.get(1)?))
}

/// The micro-ops of a `txn` value: `(f, key, value)`.
pub fn micro_ops(value: &Value) -> Option<Vec<(&str, i64, &Value)>> {
    value
        .as_seq()?
        .iter()
        .map(|m| {
            let m = m.as_seq()?;
            Some((m.first()?.as_str()?, m.get(1)?.as_int()?, m.get(2)?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generator::Step;
    use history::{Process, Sym};

    fn ops(w: &dyn Workload, n: usize) -> Vec<Invocation> {
        let mut g = w.generator();
        let mut rng = Rng::new(7);
        let me = Process::Client(0);
        let _ = Sym::from("x");
        (0..n)
            .filter_map(|_| {
                match g.next(&mut Ctx {
                    now: std::time::Duration::ZERO,
                    process: &me,
                    thread: 0,
                    rng: &mut rng,
                }) {
                    Step::Op(op) => Some(op),
                    _ => None,
                }
            })
            .collect()
    }

    #[test]
    fn transactional_list_append_writes_unique_values_in_elles_shape() {
        let w = workload("list-append", Options { transactions: true }).unwrap();
        let mut seen = std::collections::HashSet::new();
        for op in ops(w.as_ref(), 200) {
            assert_eq!(&*op.f, "txn");
            let micro = micro_ops(&op.value).expect("micro-ops");
            assert!((1..=4).contains(&micro.len()));
            for (f, k, v) in micro {
                assert!((0..KEYS).contains(&k));
                match f {
                    "r" => assert_eq!(v, &Value::Nil),
                    "append" => assert!(seen.insert(v.as_int().unwrap()), "{v:?} twice"),
                    other => panic!("{other}"),
                }
            }
        }
        assert_eq!(w.final_reads().len(), KEYS as usize);
        assert!(w.checkers().contains(&"list-append"));
    }

    #[test]
    fn cas_register_repeats_small_values_in_knossos_shape() {
        let w = workload("cas-register", Options::default()).unwrap();
        let mut fs = std::collections::BTreeMap::<String, usize>::new();
        for op in ops(w.as_ref(), 600) {
            *fs.entry(op.f.to_string()).or_default() += 1;
            let (k, v) = keyed(&op.value).unwrap();
            assert!((0..KEYS).contains(&k));
            let small = |v: &Value| (0..5).contains(&v.as_int().unwrap());
            match &*op.f {
                "read" => assert_eq!(v, &Value::Nil),
                "write" => assert!(small(v)),
                "cas" => assert!(v.as_seq().unwrap().iter().all(small)),
                other => panic!("{other}"),
            }
        }
        assert!(fs.values().all(|&n| n > 150), "{fs:?}");
        assert!(w.checkers().contains(&"linearizable"));
    }

    #[test]
    fn every_named_workload_exists_and_unknown_ones_do_not() {
        // (rw-register and kv are for checking histories written elsewhere.)
        for info in crate::WORKLOADS
            .iter()
            .filter(|w| !["rw-register", "kv"].contains(&w.name))
        {
            let w = workload(info.name, Options::default()).unwrap();
            assert_eq!(w.name(), info.name);
            assert!(!ops(w.as_ref(), 10).is_empty());
        }
        assert!(workload("bank", Options::default()).is_none());
    }
}
