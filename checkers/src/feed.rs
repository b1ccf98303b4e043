//! Pairing once per history: every checker is handed the same pairs.
//!
//! [`Feed`] follows the history with `history::pairing::OpenOps` (the one pairing rule rift has)
//! and hands each checker [`Event`]s: an invocation, a completion together with its invocation,
//! an invocation the history never completed (at the end, in the order invoked), or an op of no
//! client (a nemesis's). The open invocations are kept once, here, not once per checker.

use crate::{Checker, Verdict};
use history::pairing::{OpenOps, Step};
use history::{HistoryError, Op, Sym, Value};

/// One op of a history, as checkers see it.
#[derive(Debug, Clone, Copy)]
pub enum Event<'a> {
    /// A client invoked `op`.
    Invoke(&'a Op),
    /// `op` completed the invocation `invoked`.
    Complete { invoked: Invoked<'a>, op: &'a Op },
    /// An invocation the history never completed: indeterminate (handed over at the end).
    Unfinished(Invoked<'a>),
    /// An op of a process that is no client (a nemesis).
    Other(&'a Op),
}

/// The invocation a completion completed.
#[derive(Debug, Clone, Copy)]
pub struct Invoked<'a> {
    /// The invocation's index; the completion's when the history holds no invocation for it.
    pub index: u64,
    /// The invocation's function.
    pub f: &'a Sym,
    /// What the invocation asked: its value, or for a lone read's completion `nil` (a read asks
    /// for nothing; its completion's value is what was read). `nil` too when no checker of the
    /// feed reads invocation values ([`crate::Checker::reads_invocation_values`]).
    pub value: &'a Value,
    /// No invocation was recorded: the completion is its own op, with no real-time extent.
    pub alone: bool,
}

static NIL: Value = Value::Nil;

/// What the feed keeps of an open invocation: as little as the checkers need.
#[derive(Debug)]
struct Kept {
    index: u64,
    /// Its function, by number in the feed's table (no reference count touched per op).
    f: u32,
    value: KeptValue,
    client: bool,
}

/// An open invocation's value: a copy, or the invocation itself when the caller shares it
/// ([`Feed::push_shared`]: no copy of a transaction's micro-ops per op and per feed).
#[derive(Debug)]
enum KeptValue {
    Copy(Value),
    Shared(std::sync::Arc<Op>),
}

impl KeptValue {
    fn get(&self) -> &Value {
        match self {
            KeptValue::Copy(v) => v,
            KeptValue::Shared(op) => &op.value,
        }
    }
}

impl<'a> Invoked<'a> {
    fn of(invocation: &'a Kept, fs: &'a [Sym]) -> Invoked<'a> {
        Invoked {
            index: invocation.index,
            f: &fs[invocation.f as usize],
            value: invocation.value.get(),
            alone: false,
        }
    }

    fn alone(completion: &'a Op) -> Invoked<'a> {
        Invoked {
            index: completion.index,
            f: &completion.f,
            value: if &*completion.f == "read" {
                &NIL
            } else {
                &completion.value
            },
            alone: true,
        }
    }
}

/// Hands a history's ops, paired, to every checker.
pub struct Feed {
    checkers: Vec<Box<dyn Checker>>,
    open: OpenOps<Kept>,
    /// Some checker reads invocations' values at their completion.
    keep_values: bool,
    /// The functions invoked so far.
    fs: Functions,
}

/// Functions by number: a handful in any real history, so a scan by pointer finds them (names
/// are shared `Sym`s); a map keeps a history of many distinct names linear.
#[derive(Debug, Default)]
struct Functions {
    names: Vec<Sym>,
    numbers: rustc_hash::FxHashMap<Sym, u32>,
}

impl Functions {
    fn number(&mut self, f: &Sym) -> u32 {
        if let Some(i) = self
            .names
            .iter()
            .take(16)
            .position(|g| std::sync::Arc::ptr_eq(g, f))
        {
            return i as u32;
        }
        if let Some(&i) = self.numbers.get(f) {
            return i;
        }
        let i = self.names.len() as u32;
        self.names.push(f.clone());
        self.numbers.insert(f.clone(), i);
        i
    }
}

impl std::fmt::Debug for Feed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.checkers.iter().map(|c| c.name()).collect();
        f.debug_struct("Feed").field("checkers", &names).finish()
    }
}

impl Feed {
    pub fn new(checkers: Vec<Box<dyn Checker>>) -> Feed {
        let keep_values = checkers.iter().any(|c| c.reads_invocation_values());
        Feed {
            checkers,
            open: OpenOps::default(),
            keep_values,
            fs: Functions::default(),
        }
    }

    /// Takes the next op. An op no real run can produce (an invocation while its process has one
    /// open) is an error naming both ops; nothing of it reaches the checkers.
    pub fn push(&mut self, op: &Op) -> Result<(), HistoryError> {
        let keep_values = self.keep_values;
        let fs = &mut self.fs;
        let step = self.open.push(op, || Kept {
            index: op.index,
            f: fs.number(&op.f),
            value: KeptValue::Copy(if keep_values {
                op.value.clone()
            } else {
                Value::Nil
            }),
            client: op.process.is_client(),
        })?;
        self.hand(step, op);
        Ok(())
    }

    /// [`Feed::push`] of an op the caller shares: an invocation left open keeps the op rather
    /// than a copy of its value.
    pub fn push_shared(&mut self, op: &std::sync::Arc<Op>) -> Result<(), HistoryError> {
        let keep_values = self.keep_values;
        let fs = &mut self.fs;
        let step = self.open.push(op, || Kept {
            index: op.index,
            f: fs.number(&op.f),
            value: if keep_values {
                KeptValue::Shared(op.clone())
            } else {
                KeptValue::Copy(Value::Nil)
            },
            client: op.process.is_client(),
        })?;
        self.hand(step, op);
        Ok(())
    }

    fn hand(&mut self, step: Step<Kept>, op: &Op) {
        if !op.process.is_client() {
            let event = Event::Other(op);
            for c in &mut self.checkers {
                c.observe(&event);
            }
            return;
        }
        let event = match &step {
            Step::Opened => Event::Invoke(op),
            Step::Completed(invocation) => Event::Complete {
                invoked: Invoked::of(invocation, &self.fs.names),
                op,
            },
            Step::Alone => Event::Complete {
                invoked: Invoked::alone(op),
                op,
            },
        };
        for c in &mut self.checkers {
            c.observe(&event);
        }
    }

    /// Hands over the invocations never completed, then gathers every checker's verdict, each
    /// judged against the claimed models (none: each checker's own verdict stands).
    pub fn finish_claimed(self, models: &[String]) -> Verdict {
        let results = self.results();
        Verdict::claimed(results, models)
    }

    /// Hands over the invocations never completed, then gathers every checker's own verdict.
    pub fn finish(self) -> Verdict {
        Verdict::of(self.results())
    }

    /// Hands over the invocations never completed, then gathers every checker's own result, in
    /// the order the checkers were given (for feeds that share a history's checkers between
    /// them, each on a thread of its own).
    pub fn results(self) -> Vec<crate::CheckResult> {
        let Feed {
            mut checkers,
            open,
            fs,
            ..
        } = self;
        for invocation in open.into_still_open() {
            if invocation.client {
                let event = Event::Unfinished(Invoked::of(&invocation, &fs.names));
                for c in &mut checkers {
                    c.observe(&event);
                }
            }
        }
        // Each checker's last step (Elle's graph and cycle search, the session checker's
        // orders) is its own: they run at once, one thread each, results in checker order.
        if checkers.len() < 2 {
            return checkers.into_iter().map(|c| c.finish()).collect();
        }
        std::thread::scope(|scope| {
            let running: Vec<_> = checkers
                .into_iter()
                .map(|c| scope.spawn(move || c.finish()))
                .collect();
            running
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                })
                .collect()
        })
    }
}
