//! Pairing once per history: every checker is handed the same pairs.
//!
//! [`Feed`] follows the history with `history::pairing::OpenOps` (the one pairing rule rift has)
//! and hands each checker [`Event`]s: an invocation, a completion together with its invocation,
//! an invocation the history never completed (at the end, in the order invoked), or an op of no
//! client (a nemesis's). The open invocations are kept once, here, not once per checker.

use crate::{Checker, Verdict};
use history::pairing::{OpenOps, Step};
use history::{HistoryError, Op, Value};

/// One op of a history, as checkers see it.
#[derive(Debug, Clone, Copy)]
pub enum Event<'a> {
    /// A client invoked `op`.
    Invoke(&'a Op),
    /// `op` completed the invocation `invoked`.
    Complete { invoked: Invoked<'a>, op: &'a Op },
    /// An invocation the history never completed: indeterminate (handed over at the end).
    Unfinished(&'a Op),
    /// An op of a process that is no client (a nemesis).
    Other(&'a Op),
}

/// The invocation a completion completed.
#[derive(Debug, Clone, Copy)]
pub struct Invoked<'a> {
    /// The invocation; the completion itself when the history holds no invocation for it.
    pub op: &'a Op,
    pub index: u64,
    /// What the invocation asked: its value, or for a lone read's completion `nil` (a read asks
    /// for nothing; its completion's value is what was read).
    pub value: &'a Value,
    /// No invocation was recorded: the completion is its own op, with no real-time extent.
    pub alone: bool,
}

static NIL: Value = Value::Nil;

impl<'a> Invoked<'a> {
    fn of(invocation: &'a Op) -> Invoked<'a> {
        Invoked {
            op: invocation,
            index: invocation.index,
            value: &invocation.value,
            alone: false,
        }
    }

    fn alone(completion: &'a Op) -> Invoked<'a> {
        Invoked {
            op: completion,
            index: completion.index,
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
    open: OpenOps<Op>,
}

impl std::fmt::Debug for Feed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.checkers.iter().map(|c| c.name()).collect();
        f.debug_struct("Feed").field("checkers", &names).finish()
    }
}

impl Feed {
    pub fn new(checkers: Vec<Box<dyn Checker>>) -> Feed {
        Feed {
            checkers,
            open: OpenOps::default(),
        }
    }

    /// Takes the next op. An op no real run can produce (an invocation while its process has one
    /// open) is an error naming both ops; nothing of it reaches the checkers.
    pub fn push(&mut self, op: &Op) -> Result<(), HistoryError> {
        let step = self.open.push(op, || op.clone())?;
        self.hand(step, op);
        Ok(())
    }

    fn hand(&mut self, step: Step<Op>, op: &Op) {
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
                invoked: Invoked::of(invocation),
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

    fn results(self) -> Vec<crate::CheckResult> {
        let Feed { mut checkers, open } = self;
        for invocation in open.into_still_open() {
            if invocation.process.is_client() {
                let event = Event::Unfinished(&invocation);
                for c in &mut checkers {
                    c.observe(&event);
                }
            }
        }
        checkers.into_iter().map(|c| c.finish()).collect()
    }
}
