//! Generators: what to do next, as small composable values.
//!
//! A generator is asked, by a worker about to act, for its next step: an operation to invoke,
//! a wait, or done. Combinators build schedules from simple pieces (Jepsen's generator ideas):
//! [`mix`], [`stagger`] (a global rate), [`limit`], [`time_limit`], [`phases`],
//! [`each_thread`], [`until_ok`], [`cycle`] (for fault schedules), [`sleep`], and [`route`]
//! (client operations to clients, faults to the nemesis).
//!
//! Every random choice comes from the [`Rng`] in the context, which the runner seeds from the
//! test's seed: the same seed and the same sequence of requests give the same operations.
//! Generators are told of completions ([`Generator::completed`]) so that some (like
//! [`until_ok`]) can react to outcomes.

use history::{OpType, Process, Sym, Value};
use std::collections::HashMap;
use std::time::Duration;

/// An operation to invoke: its function and value.
#[derive(Debug, Clone, PartialEq)]
pub struct Invocation {
    pub f: Sym,
    pub value: Value,
}

impl Invocation {
    pub fn new(f: &str, value: impl Into<Value>) -> Invocation {
        Invocation {
            f: f.into(),
            value: value.into(),
        }
    }
}

/// A small, fast, seedable generator of random numbers (SplitMix64): rift's runs must replay
/// from a seed, whatever version of a random-number crate is about.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A new generator for a sub-stream (a worker, a process), independent of this one.
    pub fn fork(&self, stream: u64) -> Rng {
        let mut r = Rng(self.0 ^ stream.wrapping_mul(0xd1b5_4a32_d192_ed03));
        r.next_u64();
        r
    }
}

/// What a generator knows when asked.
#[derive(Debug)]
pub struct Ctx<'a> {
    /// Time since the test began.
    pub now: Duration,
    /// The process asking.
    pub process: &'a Process,
    /// The worker asking (stays the same when its process is renumbered after an `info`);
    /// the nemesis is [`NEMESIS_THREAD`].
    pub thread: usize,
    pub rng: &'a mut Rng,
}

/// A generator's answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    Op(Invocation),
    /// Nothing yet: ask again after (at most) this long.
    Wait(Duration),
    /// Nothing more, ever, for this process.
    Done,
}

/// The thread number of the nemesis.
pub const NEMESIS_THREAD: usize = usize::MAX;

pub trait Generator: Send {
    fn next(&mut self, ctx: &mut Ctx<'_>) -> Step;

    /// An operation this generator produced for `process` completed as `outcome`.
    fn completed(&mut self, _process: &Process, _op: &Invocation, _outcome: OpType) {}
}

pub type Gen = Box<dyn Generator>;

/// Any closure producing invocations is an endless generator.
impl<F: FnMut(&mut Ctx<'_>) -> Invocation + Send> Generator for F {
    fn next(&mut self, ctx: &mut Ctx<'_>) -> Step {
        Step::Op(self(ctx))
    }
}

pub fn boxed(g: impl Generator + 'static) -> Gen {
    Box::new(g)
}

/// The same invocation, once.
pub fn once(op: Invocation) -> Gen {
    struct Once(Option<Invocation>);
    impl Generator for Once {
        fn next(&mut self, _: &mut Ctx<'_>) -> Step {
            self.0.take().map_or(Step::Done, Step::Op)
        }
    }
    Box::new(Once(Some(op)))
}

/// Each step from one of the generators, chosen at random; done when all are.
pub fn mix(gens: Vec<Gen>) -> Gen {
    struct Mix(Vec<Gen>);
    impl Generator for Mix {
        fn next(&mut self, ctx: &mut Ctx<'_>) -> Step {
            while !self.0.is_empty() {
                let i = ctx.rng.below(self.0.len() as u64) as usize;
                match self.0[i].next(ctx) {
                    Step::Done => {
                        self.0.remove(i);
                    }
                    step => return step,
                }
            }
            Step::Done
        }
        fn completed(&mut self, p: &Process, op: &Invocation, outcome: OpType) {
            for g in &mut self.0 {
                g.completed(p, op, outcome);
            }
        }
    }
    Box::new(Mix(gens))
}

/// At most `n` operations.
pub fn limit(n: u64, inner: Gen) -> Gen {
    struct Limit(u64, Gen);
    impl Generator for Limit {
        fn next(&mut self, ctx: &mut Ctx<'_>) -> Step {
            if self.0 == 0 {
                return Step::Done;
            }
            let step = self.1.next(ctx);
            if matches!(step, Step::Op(_)) {
                self.0 -= 1;
            }
            step
        }
        fn completed(&mut self, p: &Process, op: &Invocation, outcome: OpType) {
            self.1.completed(p, op, outcome);
        }
    }
    Box::new(Limit(n, inner))
}

/// Done once `d` has passed since it was first asked.
pub fn time_limit(d: Duration, inner: Gen) -> Gen {
    struct TimeLimit(Duration, Option<Duration>, Gen);
    impl Generator for TimeLimit {
        fn next(&mut self, ctx: &mut Ctx<'_>) -> Step {
            let deadline = *self.1.get_or_insert(ctx.now + self.0);
            if ctx.now >= deadline {
                return Step::Done;
            }
            match self.2.next(ctx) {
                Step::Wait(w) => Step::Wait(w.min(deadline - ctx.now)),
                step => step,
            }
        }
        fn completed(&mut self, p: &Process, op: &Invocation, outcome: OpType) {
            self.2.completed(p, op, outcome);
        }
    }
    Box::new(TimeLimit(d, None, inner))
}

/// About `rate` operations per second in all, whoever asks: gaps are uniform in
/// `[0, 2/rate)`, as Jepsen's stagger.
pub fn stagger(rate: f64, inner: Gen) -> Gen {
    struct Stagger(f64, Option<Duration>, Gen);
    impl Generator for Stagger {
        fn next(&mut self, ctx: &mut Ctx<'_>) -> Step {
            let due = *self.1.get_or_insert(ctx.now);
            if ctx.now < due {
                return Step::Wait(due - ctx.now);
            }
            let step = self.2.next(ctx);
            if matches!(step, Step::Op(_)) {
                let gap = Duration::from_secs_f64(2.0 * ctx.rng.unit() / self.0);
                self.1 = Some(due.max(ctx.now.saturating_sub(Duration::from_millis(100))) + gap);
            }
            step
        }
        fn completed(&mut self, p: &Process, op: &Invocation, outcome: OpType) {
            self.2.completed(p, op, outcome);
        }
    }
    Box::new(Stagger(rate.max(f64::MIN_POSITIVE), None, inner))
}

/// One generator after another.
pub fn phases(gens: Vec<Gen>) -> Gen {
    struct Phases(std::collections::VecDeque<Gen>);
    impl Generator for Phases {
        fn next(&mut self, ctx: &mut Ctx<'_>) -> Step {
            while let Some(g) = self.0.front_mut() {
                match g.next(ctx) {
                    Step::Done => {
                        self.0.pop_front();
                    }
                    step => return step,
                }
            }
            Step::Done
        }
        fn completed(&mut self, p: &Process, op: &Invocation, outcome: OpType) {
            if let Some(g) = self.0.front_mut() {
                g.completed(p, op, outcome);
            }
        }
    }
    Box::new(Phases(gens.into()))
}

/// Round-robin over the generators, one step from each in turn, forever (a fault schedule:
/// `cycle(vec![sleep(10 s), start, sleep(10 s), stop])`). A generator that is done is started
/// afresh by `factory` on its next turn.
pub fn cycle(factory: impl FnMut() -> Vec<Gen> + Send + 'static) -> Gen {
    struct Cycle<F>(F, Vec<Gen>, usize);
    impl<F: FnMut() -> Vec<Gen> + Send> Generator for Cycle<F> {
        fn next(&mut self, ctx: &mut Ctx<'_>) -> Step {
            if self.1.is_empty() {
                self.1 = (self.0)();
                self.2 = 0;
                if self.1.is_empty() {
                    return Step::Done;
                }
            }
            for _ in 0..=self.1.len() {
                match self.1[self.2].next(ctx) {
                    Step::Done => {
                        self.2 += 1;
                        if self.2 == self.1.len() {
                            self.1 = (self.0)();
                            self.2 = 0;
                        }
                    }
                    step => return step,
                }
            }
            Step::Wait(Duration::from_millis(10))
        }
        fn completed(&mut self, p: &Process, op: &Invocation, outcome: OpType) {
            if let Some(g) = self.1.get_mut(self.2) {
                g.completed(p, op, outcome);
            }
        }
    }
    Box::new(Cycle(factory, Vec::new(), 0))
}

/// Waits `d` from when it is first asked, then is done.
pub fn sleep(d: Duration) -> Gen {
    struct Sleep(Duration, Option<Duration>);
    impl Generator for Sleep {
        fn next(&mut self, ctx: &mut Ctx<'_>) -> Step {
            let until = *self.1.get_or_insert(ctx.now + self.0);
            if ctx.now >= until {
                Step::Done
            } else {
                Step::Wait(until - ctx.now)
            }
        }
    }
    Box::new(Sleep(d, None))
}

/// A generator of its own for every worker thread, made on first use. Keyed by thread, not
/// process, so that what a worker was doing (a request to retry) survives its process being
/// renumbered after an `info`.
pub fn each_thread(factory: impl Fn(usize) -> Gen + Send + 'static) -> Gen {
    struct EachThread<F>(F, HashMap<usize, Gen>);
    impl<F: Fn(usize) -> Gen + Send> Generator for EachThread<F> {
        fn next(&mut self, ctx: &mut Ctx<'_>) -> Step {
            let factory = &self.0;
            let g = self
                .1
                .entry(ctx.thread)
                .or_insert_with(|| factory(ctx.thread));
            g.next(ctx)
        }
        fn completed(&mut self, p: &Process, op: &Invocation, outcome: OpType) {
            // The process may have been renumbered: each thread's generator knows its own ops.
            for g in self.1.values_mut() {
                g.completed(p, op, outcome);
            }
        }
    }
    Box::new(EachThread(factory, HashMap::new()))
}

/// Repeats the inner generator's operation until one completes `ok` (retrying after `fail` and
/// `info`: an idempotent request retried after a timeout). Meant inside [`each_thread`].
pub fn until_ok(inner: Gen) -> Gen {
    #[derive(PartialEq)]
    enum State {
        Ready,
        InFlight,
        Succeeded,
    }
    struct UntilOk(Gen, Option<Invocation>, State);
    impl Generator for UntilOk {
        fn next(&mut self, ctx: &mut Ctx<'_>) -> Step {
            match self.2 {
                State::Succeeded => Step::Done,
                State::InFlight => Step::Wait(Duration::from_millis(1)),
                State::Ready => {
                    let op = match &self.1 {
                        Some(op) => op.clone(),
                        None => match self.0.next(ctx) {
                            Step::Op(op) => {
                                self.1 = Some(op.clone());
                                op
                            }
                            other => return other,
                        },
                    };
                    self.2 = State::InFlight;
                    Step::Op(op)
                }
            }
        }
        fn completed(&mut self, _p: &Process, op: &Invocation, outcome: OpType) {
            if self.1.as_ref() == Some(op) {
                self.2 = if outcome == OpType::Ok {
                    State::Succeeded
                } else {
                    State::Ready
                };
            }
        }
    }
    Box::new(UntilOk(inner, None, State::Ready))
}

/// Client operations to client processes, faults to the nemesis.
pub fn route(clients: Gen, nemesis: Option<Gen>) -> Gen {
    struct Route(Gen, Option<Gen>);
    impl Generator for Route {
        fn next(&mut self, ctx: &mut Ctx<'_>) -> Step {
            if ctx.process.is_client() {
                self.0.next(ctx)
            } else {
                self.1.as_mut().map_or(Step::Done, |g| g.next(ctx))
            }
        }
        fn completed(&mut self, p: &Process, op: &Invocation, outcome: OpType) {
            if p.is_client() {
                self.0.completed(p, op, outcome);
            } else if let Some(g) = &mut self.1 {
                g.completed(p, op, outcome);
            }
        }
    }
    Box::new(Route(clients, nemesis))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Asks `g` as a run would: processes take turns, time advances by `tick` per request.
    fn drive(
        g: &mut Gen,
        seed: u64,
        processes: &[Process],
        asks: usize,
        tick: Duration,
    ) -> Vec<(usize, Step)> {
        let mut rng = Rng::new(seed);
        let mut out = Vec::new();
        for i in 0..asks {
            let p = &processes[i % processes.len()];
            let step = g.next(&mut Ctx {
                now: tick * i as u32,
                process: p,
                thread: i % processes.len(),
                rng: &mut rng,
            });
            if let Step::Op(op) = &step {
                g.completed(p, op, OpType::Ok);
            }
            out.push((i % processes.len(), step));
        }
        out
    }

    fn counter(f: &'static str) -> Gen {
        let mut n = 0i64;
        boxed(move |_: &mut Ctx<'_>| {
            n += 1;
            Invocation::new(f, n)
        })
    }

    fn clients(n: u64) -> Vec<Process> {
        (0..n).map(Process::Client).collect()
    }

    fn build(seed: u64) -> Vec<(usize, Step)> {
        let mut g = stagger(
            500.0,
            time_limit(
                Duration::from_secs(1),
                mix(vec![
                    counter("add"),
                    counter("read"),
                    limit(3, counter("cas")),
                ]),
            ),
        );
        drive(&mut g, seed, &clients(4), 2000, Duration::from_millis(1))
    }

    #[test]
    fn the_same_seed_gives_the_same_operations_and_another_seed_does_not() {
        assert_eq!(build(7), build(7));
        assert_ne!(build(7), build(8));
    }

    #[test]
    fn limit_mix_and_time_limit_do_what_they_say() {
        let ops = build(7);
        let fs: Vec<&str> = ops
            .iter()
            .filter_map(|(_, s)| match s {
                Step::Op(op) => Some(&*op.f),
                _ => None,
            })
            .collect();
        assert_eq!(fs.iter().filter(|f| **f == "cas").count(), 3, "limit");
        assert!(fs.contains(&"add") && fs.contains(&"read"), "mix");
        // 1 s of a 1 s time limit at 500/s: about 500 ops, then done for everyone.
        assert!(
            (400..=600).contains(&fs.len()),
            "stagger gave {} ops in 1 s at 500/s",
            fs.len()
        );
        assert!(
            ops[1100..].iter().all(|(_, s)| *s == Step::Done),
            "time limit"
        );
    }

    #[test]
    fn phases_run_in_order_and_each_thread_keeps_its_own() {
        let mut g = phases(vec![limit(2, counter("a")), limit(1, counter("b"))]);
        let fs: Vec<String> = drive(&mut g, 1, &clients(1), 5, Duration::ZERO)
            .into_iter()
            .map(|(_, s)| match s {
                Step::Op(op) => op.f.to_string(),
                other => format!("{other:?}"),
            })
            .collect();
        assert_eq!(fs, ["a", "a", "b", "Done", "Done"]);

        let mut g = each_thread(|t| {
            let tag = t.to_string();
            limit(
                2,
                boxed(move |_: &mut Ctx<'_>| Invocation::new("w", tag.as_str())),
            )
        });
        let steps = drive(&mut g, 1, &clients(2), 6, Duration::ZERO);
        let values: Vec<(usize, Value)> = steps
            .into_iter()
            .filter_map(|(p, s)| match s {
                Step::Op(op) => Some((p, op.value)),
                _ => None,
            })
            .collect();
        assert_eq!(
            values,
            [
                (0, "0".into()),
                (1, "1".into()),
                (0, "0".into()),
                (1, "1".into())
            ]
        );
    }

    #[test]
    fn until_ok_retries_the_same_operation_until_it_succeeds() {
        let mut g = until_ok(counter("insert"));
        let p = Process::Client(0);
        let mut rng = Rng::new(1);
        let mut ask = |g: &mut Gen| {
            g.next(&mut Ctx {
                now: Duration::ZERO,
                process: &p,
                thread: 0,
                rng: &mut rng,
            })
        };
        let Step::Op(first) = ask(&mut g) else {
            panic!()
        };
        assert!(
            matches!(ask(&mut g), Step::Wait(_)),
            "waits while in flight"
        );
        g.completed(&p, &first, OpType::Info);
        assert_eq!(
            ask(&mut g),
            Step::Op(first.clone()),
            "the same request again after info"
        );
        g.completed(&p, &first, OpType::Ok);
        assert_eq!(ask(&mut g), Step::Done);
    }

    #[test]
    fn cycle_and_route_make_fault_schedules_for_the_nemesis_only() {
        let schedule = cycle(|| {
            vec![
                sleep(Duration::from_secs(1)),
                once(Invocation::new("start", Value::Nil)),
                sleep(Duration::from_secs(1)),
                once(Invocation::new("stop", Value::Nil)),
            ]
        });
        let mut g = route(counter("read"), Some(schedule));
        let nemesis = Process::Named("nemesis".into());
        let mut rng = Rng::new(1);
        let mut faults = Vec::new();
        for ms in (0..5000).step_by(50) {
            let step = g.next(&mut Ctx {
                now: Duration::from_millis(ms),
                process: &nemesis,
                thread: NEMESIS_THREAD,
                rng: &mut rng,
            });
            if let Step::Op(op) = step {
                faults.push((ms, op.f.to_string()));
            }
        }
        let fs: Vec<&str> = faults.iter().map(|(_, f)| f.as_str()).collect();
        assert_eq!(fs, ["start", "stop", "start", "stop"]);
        assert!(faults[0].0 >= 1000 && faults[1].0 >= 2000, "{faults:?}");
        let client = g.next(&mut Ctx {
            now: Duration::ZERO,
            process: &Process::Client(3),
            thread: 3,
            rng: &mut rng,
        });
        assert!(matches!(client, Step::Op(op) if &*op.f == "read"));
    }
}
